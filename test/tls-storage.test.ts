// Certificate storage (certmagic semantics) and database locks, on a real fazt.db.
import { describe, expect, test, afterAll } from "bun:test";
import { join } from "node:path";
import { Store } from "../src/db/index.ts";
import { CertStorage, NotFoundError } from "../src/tls/storage.ts";
import { Locks } from "../src/tls/locks.ts";
import { backoffDelay, BACKOFF_MIN_MS, BACKOFF_MAX_MS } from "../src/tls/manager.ts";
import { issuerKey } from "../src/tls/acme.ts";
import { tempDir, cleanup } from "./helpers/fazt.ts";
import { waitFor } from "./helpers/wait.ts";

const dir = tempDir();
afterAll(() => cleanup(dir));
let n = 0;
const open = () => Store.open(join(dir, `s${++n}.db`));

describe("certificate storage", () => {
  test("store, load, exists, stat on files and directories", () => {
    const s = new CertStorage(open());
    s.store("certificates/ca/a.com/a.com.crt", "CERT");
    s.store("/certificates/ca/a.com/a.com.key/", new Uint8Array([1, 2, 3]));
    expect(new TextDecoder().decode(s.load("certificates/ca/a.com/a.com.crt"))).toBe("CERT");
    expect([...s.load("certificates/ca/a.com/a.com.key")]).toEqual([1, 2, 3]);
    expect(s.exists("certificates/ca/a.com")).toBe(true);
    expect(s.exists("certificates/ca/a.co")).toBe(false); // a prefix, not a path component
    const file = s.stat("certificates/ca/a.com/a.com.crt");
    expect(file).toMatchObject({ isTerminal: true, size: 4 });
    expect(s.stat("certificates/ca")).toMatchObject({ key: "certificates/ca", isTerminal: false });
    expect(() => s.load("nope")).toThrow(NotFoundError);
    expect(() => s.stat("certificates/c")).toThrow(NotFoundError);
    s.store("certificates/ca/a.com/a.com.crt", "NEW");
    expect(s.loadText("certificates/ca/a.com/a.com.crt")).toBe("NEW");
  });

  test("list by path component, recursive or not; LIKE wildcards are literal", () => {
    const s = new CertStorage(open());
    for (const k of ["acme/x/users/u/account.key", "acme/x/orders/a.com.json", "acme/x_y/z", "acme/x%/w", "acme/xy/q", "certs/top"]) s.store(k, "v");
    expect(s.list("acme", false).sort()).toEqual(["acme/x", "acme/x%", "acme/x_y", "acme/xy"]);
    expect(s.list("acme/x", false).sort()).toEqual(["acme/x/orders", "acme/x/users"]);
    expect(s.list("acme/x", true).sort()).toEqual(["acme/x/orders/a.com.json", "acme/x/users/u/account.key"]);
    expect(s.list("acme/x_y", true)).toEqual(["acme/x_y/z"]);
    expect(s.list("acme/x%", true)).toEqual(["acme/x%/w"]);
    expect(s.list("", false).sort()).toEqual(["acme", "certs"]);
    expect(() => s.list("acme/none", false)).toThrow(NotFoundError);
  });

  test("delete removes a key or a whole directory, and nothing beside it", () => {
    const s = new CertStorage(open());
    for (const k of ["c/a.com/a.com.crt", "c/a.com/a.com.key", "c/a.com.evil/x", "c/a_com/y"]) s.store(k, "v");
    s.delete("c/a.com");
    expect(s.list("c", true).sort()).toEqual(["c/a.com.evil/x", "c/a_com/y"]);
    s.delete("c/a_com/y");
    expect(s.exists("c/a_com")).toBe(false);
    expect(() => s.delete("c/a.com")).toThrow(NotFoundError);
  });
});

describe("locks", () => {
  test("one holder at a time across two processes' connections; stale locks are taken over", async () => {
    const path = join(dir, "locks.db");
    // Both processes' clock, moved on by hand: expiry is judged by it, the keep-alive timer is real.
    let now = Date.now();
    const clock = () => now;
    const a = new Locks(Store.open(path), 300, clock);
    const b = new Locks(Store.open(path), 300, clock);
    const store = Store.open(path);
    const expiry = store.write.query("SELECT expires_at AS t FROM locks WHERE name = ?");
    const expiresAt = (name: string) => (expiry.get(name) as { t: number }).t;
    expect(a.tryAcquire("cert:a.com")).toBe(true);
    expect(b.tryAcquire("cert:a.com")).toBe(false);
    expect(a.tryAcquire("cert:a.com")).toBe(true); // re-entrant for its owner
    // Held for a minute (200 expiries, far more than real time can pass during the wait): its keep-alive extends it.
    now += 60_000;
    await waitFor(() => expiresAt("cert:a.com") > now, { what: "the holder's keep-alive to extend the lock", timeoutMs: 5000 });
    expect(b.tryAcquire("cert:a.com")).toBe(false);
    a.release("cert:a.com");
    expect(b.tryAcquire("cert:a.com")).toBe(true);
    b.release("cert:a.com");

    // A holder that died (no keep-alive) leaves a lock that expires and is taken over by a waiting acquire.
    store.write.query("INSERT INTO locks (name, owner, expires_at) VALUES ('cert:b.com', 'dead', ?)").run(now + 200);
    expect(b.tryAcquire("cert:b.com")).toBe(false);
    const waiting = b.acquire("cert:b.com", 5_000);
    now += 199;
    expect(b.tryAcquire("cert:b.com")).toBe(false);
    now += 2;
    await waiting;
    expect(store.write.query("SELECT owner FROM locks WHERE name = 'cert:b.com'").get()).toEqual({ owner: b.owner });
    b.releaseAll();
    expect(store.write.query("SELECT COUNT(*) AS n FROM locks").get()).toEqual({ n: 0 });
  });

  test("acquire gives up after its timeout", async () => {
    const path = join(dir, "locks2.db");
    const a = new Locks(Store.open(path), 10_000);
    const b = new Locks(Store.open(path), 10_000);
    a.tryAcquire("x");
    await expect(b.acquire("x", 300)).rejects.toThrow(/busy/);
    a.releaseAll();
  });
});

describe("ACME helpers", () => {
  test("back-off doubles from 1 minute to at most 6 hours", () => {
    expect(backoffDelay(1)).toBe(BACKOFF_MIN_MS);
    expect(backoffDelay(2)).toBe(2 * BACKOFF_MIN_MS);
    expect(backoffDelay(5)).toBe(16 * BACKOFF_MIN_MS);
    expect(backoffDelay(30)).toBe(BACKOFF_MAX_MS);
  });

  test("issuer keys are safe path components", () => {
    expect(issuerKey("https://acme-v02.api.letsencrypt.org/directory")).toBe("acme-v02.api.letsencrypt.org-directory");
    expect(issuerKey("https://127.0.0.1:14000/dir")).toBe("127.0.0.1-14000-dir");
  });
});
