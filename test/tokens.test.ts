import { expect, test, afterAll } from "bun:test";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { Store } from "../src/db/index.ts";
import { createToken, verifyToken, hasAdminToken } from "../src/auth/tokens.ts";
import { createSite } from "../src/sites/index.ts";
import { FailureLimiter } from "../src/auth/ratelimit.ts";
import { tempDir, cleanup } from "./helpers/fazt.ts";

const dir = tempDir();
afterAll(() => cleanup(dir));

test("tokens are stored hashed and verified with their scope", () => {
  const store = Store.open(join(dir, "t.db"));
  expect(hasAdminToken(store)).toBe(false);
  const admin = createToken(store);
  const site = createSite(store, "blog");
  const deploy = createToken(store, { siteId: site.id });
  expect(hasAdminToken(store)).toBe(true);

  const rows = store.write.query("SELECT id, secret_hash FROM tokens").all() as { id: string; secret_hash: Uint8Array }[];
  const secret = admin.slice(17);
  expect(secret.length).toBe(43);
  for (const r of rows) {
    expect(Buffer.from(r.secret_hash).toString("latin1")).not.toContain(secret);
    expect(r.secret_hash.length).toBe(32);
  }
  // The clear secret appears nowhere in the file.
  store.write.run("PRAGMA wal_checkpoint(TRUNCATE)");
  expect(readFileSync(join(dir, "t.db")).includes(secret)).toBe(false);

  expect(verifyToken(store, admin)).toEqual({ tokenId: admin.slice(4, 16), siteId: null });
  expect(verifyToken(store, deploy)?.siteId).toBe(site.id);
  // Wrong secret for a real id, garbage, empty.
  expect(verifyToken(store, admin.slice(0, -1) + (admin.endsWith("A") ? "B" : "A"))).toBeNull();
  expect(verifyToken(store, `fzt_aaaaaaaaaaaa_${"x".repeat(43)}`)).toBeNull();
  expect(verifyToken(store, "")).toBeNull();
  expect(verifyToken(store, "Bearer nonsense")).toBeNull();
  store.close();
});

test("failure limiter blocks after the limit and forgets after the window", () => {
  const l = new FailureLimiter(3, 1000, 100);
  for (let i = 0; i < 3; i++) {
    expect(l.blockedFor("ip", 0)).toBe(0);
    l.fail("ip", 0);
  }
  expect(l.blockedFor("ip", 10)).toBe(990);
  expect(l.blockedFor("other", 10)).toBe(0);
  expect(l.blockedFor("ip", 1000)).toBe(0);
  for (let i = 0; i < 500; i++) l.fail(`k${i}`, 5000);
  expect(l.blockedFor("k499", 5000)).toBe(0);
});
