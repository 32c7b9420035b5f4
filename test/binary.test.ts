// The real compiled binary, started from an empty folder.
import { expect, test, beforeAll, afterAll } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { ROOT, startFazt, runFazt, tempDir, cleanup, api } from "./helpers/fazt.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanup));

beforeAll(() => {
  const r = Bun.spawnSync([process.execPath, "build.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr.toString()}`);
}, 120_000);

test("dist/fazt starts from an empty folder, answers health fast, writes only fazt.db", async () => {
  const dir = tempDir("fazt-bin-");
  dirs.push(dir);
  const t0 = performance.now();
  const f = await startFazt({ binary: true, dir, db: "fazt.db", env: { PATH: "/nonexistent" } });
  const startMs = performance.now() - t0;
  try {
    const t1 = performance.now();
    const res = await fetch(`${f.url}/api/health`);
    const healthMs = performance.now() - t1;
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ok: boolean; version: string };
    expect(body.ok).toBe(true);
    expect(healthMs).toBeLessThan(100);
    expect(startMs).toBeLessThan(5000);
    expect(f.token).toMatch(/^fzt_/);
    expect((await api(f, "/api/sites")).status).toBe(200);
    // Private keys and token hashes: the database and SQLite's files beside it are the owner's alone.
    for (const name of ["fazt.db", "fazt.db-wal", "fazt.db-shm"]) {
      expect({ name, mode: (statSync(join(dir, name)).mode & 0o777).toString(8) }).toEqual({ name, mode: "600" });
    }
  } finally {
    expect(await f.stop("SIGTERM")).toBe(0);
  }
  const files = readdirSync(dir).sort();
  expect(files.filter((n) => !["fazt.db", "fazt.db-wal", "fazt.db-shm"].includes(n))).toEqual([]);
  const db = new Database(join(dir, "fazt.db"), { readonly: true });
  expect(db.query("PRAGMA journal_mode").get()).toEqual({ journal_mode: "wal" });
  db.close();
  expect(f.stderr()).toContain("listening on");
});

test("SIGINT stops the binary cleanly too", async () => {
  const dir = tempDir("fazt-bin-");
  dirs.push(dir);
  const f = await startFazt({ binary: true, dir });
  expect(await f.stop("SIGINT")).toBe(0);
  expect(f.stderr()).toContain('"msg":"stopped"');
});

test("the binary refuses to restore over the database it serves, and refuses another application's SQLite file", async () => {
  const dir = tempDir("fazt-bin-");
  dirs.push(dir);
  const f = await startFazt({ binary: true, dir });
  const run = (args: string[]) => runFazt(args, { binary: true, cwd: dir });
  try {
    expect((await run(["backup", "copy.db", "--db", f.db])).code).toBe(0);
    const busy = await run(["restore", "copy.db", "--db", f.db]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain("is in use by another process");
    const other = new Database(join(dir, "other.db"), { create: true });
    other.run("CREATE TABLE notes (body TEXT)");
    other.close();
    const foreign = await run(["token", "create", "--db", "other.db"]);
    expect(foreign.code).toBe(1);
    expect(foreign.stderr).toContain("other.db is not a Fazt database");
  } finally {
    expect(await f.stop()).toBe(0);
  }
  expect((await run(["restore", "copy.db", "--db", f.db])).stdout).toMatch(/kept as \S+fazt\.db\.replaced-\d{8}T\d{6}Z\n/);
}, 30_000);
