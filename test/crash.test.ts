// SIGKILL at random moments of deploys, 50 times: the database must always pass
// integrity_check and the site must serve the old or the new deploy, whole;
// after a restart and GC, nothing orphaned is left.
import { expect, test, afterAll } from "bun:test";
import { Database } from "bun:sqlite";
import { startFazt, api, hostFetch, tempDir, cleanup, type FaztProcess } from "./helpers/fazt.ts";
import { makeTarGz, type TarEntry } from "./helpers/archives.ts";

const ITERATIONS = 50;
const FILES = 40;
const dir = tempDir("fazt-crash-");
afterAll(() => cleanup(dir));

/** Version v: every file names v; one file spans several chunks (the staged path). */
async function version(v: string): Promise<Uint8Array> {
  const entries: TarEntry[] = Array.from({ length: FILES }, (_, i) => ({ name: `p/${i}.html`, data: `${v}:${i}:${"z".repeat(2000)}` }));
  entries.push({ name: "index.html", data: v });
  const big = new Uint8Array(700 * 1024);
  crypto.getRandomValues(big.subarray(0, 65536));
  big.set(new TextEncoder().encode(v), 0);
  entries.push({ name: "big.bin", data: big });
  return makeTarGz(entries);
}

/** The live site is one version, whole: every file present and from that version. */
async function servedVersion(f: FaztProcess): Promise<string> {
  const v = await (await hostFetch(f, "crash.localhost", "/")).text();
  for (let i = 0; i < FILES; i += 7) {
    const body = await (await hostFetch(f, "crash.localhost", `/p/${i}.html`)).text();
    expect(body.startsWith(`${v}:${i}:`)).toBe(true);
  }
  const big = new Uint8Array(await (await hostFetch(f, "crash.localhost", "/big.bin")).arrayBuffer());
  expect(big.length).toBe(700 * 1024);
  expect(new TextDecoder().decode(big.subarray(0, v.length))).toBe(v);
  return v;
}

function checkDatabase(path: string): void {
  const db = new Database(path);
  try {
    expect(db.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    expect(db.query("PRAGMA foreign_key_check").all()).toEqual([]);
  } finally {
    db.close();
  }
}

test(`SIGKILL during deploys, ${ITERATIONS} times`, async () => {
  const db = `${dir}/fazt.db`;
  let f = await startFazt({ dir, db });
  const token = f.token!;
  expect((await api(f, "/api/sites", { method: "POST", json: { name: "crash" } })).status).toBe(201);
  const archives = { a: await version("version-a"), b: await version("version-b") };
  expect((await api(f, "/api/sites/crash/deploys", { method: "POST", body: archives.a })).status).toBe(201);
  let live = "version-a";
  // How long one deploy takes, to spread the kills over it.
  const t0 = performance.now();
  expect((await api(f, "/api/sites/crash/deploys", { method: "POST", body: archives.b })).status).toBe(201);
  // The window the kill is drawn from adapts, so kills land before and after commits alike.
  let windowMs = performance.now() - t0;
  live = "version-b";
  const outcomes = { old: 0, new: 0 };
  try {
    for (let i = 0; i < ITERATIONS; i++) {
      const next = live === "version-a" ? "version-b" : "version-a";
      const upload = api(f, "/api/sites/crash/deploys", {
        method: "POST",
        body: next === "version-a" ? archives.a : archives.b,
        token,
      }).catch(() => null);
      await Bun.sleep(Math.random() * windowMs);
      f.proc.kill("SIGKILL");
      await f.proc.exited;
      await upload;
      checkDatabase(db);
      f = await startFazt({ dir, db });
      f.token = token;
      const now = await servedVersion(f);
      expect([live, next]).toContain(now);
      outcomes[now === live ? "old" : "new"]++;
      windowMs *= now === live ? 1.15 : 0.9;
      live = now;
    }
    // Nothing orphaned: after GC every blob is referenced by a deploy and no upload is open.
    expect((await api(f, "/api/gc", { method: "POST" })).status).toBe(200);
    const d = new Database(db, { readonly: true });
    expect(d.query("SELECT count(*) AS n FROM uploads").get()).toEqual({ n: 0 });
    const orphans = `SELECT count(*) AS n FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM deploy_files f WHERE f.blob_id = b.id)
      AND NOT EXISTS (SELECT 1 FROM blob_variants v JOIN deploy_files f ON f.blob_id = v.blob_id WHERE v.variant_blob_id = b.id)`;
    expect(d.query(orphans).get()).toEqual({ n: 0 });
    expect(d.query("SELECT count(*) AS n FROM chunks c WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.id = c.blob_id)").get()).toEqual({
      n: 0,
    });
    d.close();
  } finally {
    await f.stop();
  }
  console.log(`crash loop: ${outcomes.old} kills kept the old deploy, ${outcomes.new} saw the new one`);
  // The kills landed both before and after commits.
  expect(outcomes.old).toBeGreaterThan(0);
  expect(outcomes.new).toBeGreaterThan(0);
}, 90_000);
