// Certificate storage (certmagic semantics) and database locks, on a real fazt.db.
import { describe, expect, test, afterAll } from "bun:test";
import { join } from "node:path";
import { Store } from "../src/db/index.ts";
import { Database } from "bun:sqlite";
import { CertReader, CertStorage, accountKeys, certificateKeyPrefix, orderKey, parseCertificateKey } from "../src/tls/storage.ts";
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
  test("store, load and delete keys; a missing key is null", () => {
    const s = new CertStorage(open());
    s.store("acme/ca/orders/a.com.json", "ORDER");
    expect(s.loadText("acme/ca/orders/a.com.json")).toBe("ORDER");
    s.storeAll({ "acme/ca/users/u/account.key": "K", "acme/ca/users/u/account.json": "{}" });
    expect(s.loadText("acme/ca/users/u/account.key")).toBe("K");
    s.store("acme/ca/orders/a.com.json", "NEW");
    expect(s.loadText("acme/ca/orders/a.com.json")).toBe("NEW");
    expect(s.delete("acme/ca/orders/a.com.json")).toBe(true);
    expect(s.delete("acme/ca/orders/a.com.json")).toBe(false);
    expect(s.loadText("acme/ca/orders/a.com.json")).toBeNull();
    expect(s.loadText("acme/ca/users/u/account.json")).toBe("{}");
  });

  test("certificate keys round-trip names, IDN (punycode) and wildcard-looking ones; anything else is refused", () => {
    const names = ["a.com", "xn--mnchen-3ya.de", "xn--80ak6aa92e.com", "*.example.com", "a_b.example", "100%.example", "a\\b", "[::1]"];
    for (const name of names) {
      const prefix = certificateKeyPrefix("acme-v02.api.letsencrypt.org-directory", name);
      expect(parseCertificateKey(`${prefix}.crt`)).toEqual({ issuer: "acme-v02.api.letsencrypt.org-directory", name });
    }
    expect(certificateKeyPrefix("ca", "a.com")).toBe("certificates/ca/a.com/a.com");
    for (const bad of ["", ".", "..", "a/b", "../x"]) expect(() => certificateKeyPrefix("ca", bad)).toThrow(/storage key component/);
    expect(() => certificateKeyPrefix("a/b", "a.com")).toThrow(/storage key component/);
    expect(() => orderKey("ca", "../../certificates/x")).toThrow(/storage key component/);
    const c = "certificates/ca";
    for (const other of [`${c}/a.com/a.com.key`, `${c}/a.com/b.com.crt`, `${c}/x/a.com/a.com.crt`, "acme/ca/orders/a.com.json"]) {
      expect(parseCertificateKey(other)).toBeNull();
    }
    const account = "acme/ca/users/ops@example.com/account";
    expect(accountKeys("ca", "ops@example.com")).toEqual({ key: `${account}.key`, json: `${account}.json` });
    expect(accountKeys("ca", "a/b c@x")).toEqual({ key: "acme/ca/users/a_b_c@x/account.key", json: "acme/ca/users/a_b_c@x/account.json" });
  });

  test("listing one name escapes LIKE wildcards: a name never matches another name's certificates", () => {
    const s = new CertStorage(open());
    const pair = (n: string) => ({ cert: `CERT ${n}`, key: `KEY ${n}` });
    const later = new Date(Date.now() + 86_400_000);
    const names = ["*.example.com", "100%.example", "100x.example", "a\\b", "a_b.example", "ab", "axb.example"];
    for (const n of names) s.storeCertificate("ca", n, pair(n), later);
    s.store("certificates/ca/x/a_b.example/a_b.example.crt", "NOT A CERTIFICATE KEY");
    expect(s.listCertificates("a_b.example").map((r) => r.keyPrefix)).toEqual(["certificates/ca/a_b.example/a_b.example"]);
    expect(s.listCertificates("a%").length).toBe(0);
    expect(s.listCertificates("%").length).toBe(0);
    expect(s.listCertificates("a.b.example").length).toBe(0); // "." is literal in LIKE too
    for (const n of names) expect(s.loadCertificate(n)).toEqual(pair(n));
    expect(s.loadCertificate("a/b")).toBeNull();
    expect(s.listCertificates().map((r) => r.name)).toEqual(names); // sorted by key, as names are here
    expect(JSON.parse(s.loadText("certificates/ca/ab/ab.json")!)).toEqual({ names: ["ab"], issuer: "ca", not_after: later.toISOString() });
  });

  test("one name from several issuers: the most recently stored pair with its key; refs carry issuer and time", () => {
    let now = Date.now();
    const s = new CertStorage(open(), () => now);
    const later = new Date(now + 86_400_000);
    s.storeCertificate("old-ca", "a.com", { cert: "OLD", key: "OLDKEY" }, later);
    now += 1;
    s.storeCertificate("new-ca", "a.com", { cert: "NEW", key: "NEWKEY" }, later);
    expect(s.loadCertificate("a.com")).toEqual({ cert: "NEW", key: "NEWKEY" });
    const refs = s.listCertificates("a.com");
    expect(refs.map((r) => r.issuer)).toEqual(["new-ca", "old-ca"]);
    expect(refs[0]!.updatedAt).toBeGreaterThan(refs[1]!.updatedAt);
    expect(s.certificatePem(refs[1]!)).toBe("OLD");
    // Without its key the newer one is not usable: the older pair is.
    s.delete(`${refs[0]!.keyPrefix}.key`);
    expect(s.certificatePair(refs[0]!)).toBeNull();
    expect(s.loadCertificate("a.com")).toEqual({ cert: "OLD", key: "OLDKEY" });
    expect(s.loadCertificate("b.com")).toBeNull();
  });

  test("a read-only connection reads what the server stored", () => {
    const path = join(dir, "ro.db");
    const s = new CertStorage(Store.open(path));
    s.storeCertificate("ca", "a.com", { cert: "C", key: "K" }, new Date());
    s.storeDefaultCertificate({ cert: "DC", key: "DK" });
    const ro = new CertReader(new Database(path, { readonly: true }));
    expect(ro.listCertificates().map((r) => [r.issuer, r.name])).toEqual([["ca", "a.com"]]);
    expect(ro.loadCertificate("a.com")).toEqual({ cert: "C", key: "K" });
    expect(ro.defaultCertificate()).toEqual({ cert: "DC", key: "DK" });
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
