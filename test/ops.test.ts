// The operator's side against real fazt processes: restore refuses what is
// not an intact Fazt database and a database a server has open (and keeps the
// file it replaces), no command touches another application's SQLite file or
// a newer Fazt's, the first admin token is shown by the start that serves,
// and every database file is private (0600).
import { describe, expect, test, afterAll } from "bun:test";
import { copyFileSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync, chmodSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { runFazt, startFazt, tempDir, cleanup, api } from "./helpers/fazt.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanup));

function newDir(): string {
  const dir = tempDir("fazt-ops-");
  dirs.push(dir);
  return dir;
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

function query<T>(path: string, sql: string): T {
  const db = new Database(path, { readonly: true });
  try {
    return db.query(sql).all() as T;
  } finally {
    db.close();
  }
}

const siteNames = (path: string) => query<{ name: string }[]>(path, "SELECT name FROM sites ORDER BY name").map((r) => r.name);

/** An SQLite file as another application would leave it. */
function foreignDb(path: string, schema = "CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"): void {
  const db = new Database(path, { create: true });
  db.run(schema);
  db.run("PRAGMA user_version = 7");
  db.close();
}

/** A Fazt database with one site, made by the real CLI and server. */
async function faztDb(dir: string, name: string, site: string): Promise<string> {
  const db = join(dir, name);
  const f = await startFazt({ dir, db });
  try {
    expect((await api(f, "/api/sites", { method: "POST", json: { name: site } })).status).toBe(201);
  } finally {
    await f.stop();
  }
  return db;
}

describe("restore", () => {
  test("refuses an empty file, text, another application's SQLite file, a corrupt or newer Fazt db; target untouched", async () => {
    const dir = newDir();
    const target = await faztDb(dir, "fazt.db", "live");
    const before = readFileSync(target);
    const inputs: [string, (p: string) => void, RegExp][] = [
      ["empty.db", (p) => writeFileSync(p, ""), /empty \(0 bytes\)/],
      ["notes.txt", (p) => writeFileSync(p, "hello\n".repeat(100)), /not an SQLite file/],
      ["app.db", (p) => foreignDb(p), /not a Fazt database/],
      // Other tools name their migrations table the same: Fazt's columns and first migration are what count.
      ["rails.db", (p) => foreignDb(p, "CREATE TABLE schema_migrations (version TEXT PRIMARY KEY)"), /not a Fazt database/],
      ["blank.db", (p) => foreignDb(p, "CREATE TABLE t (x); DROP TABLE t"), /empty SQLite database, not a Fazt database/],
    ];
    const newer = join(dir, "newer.db");
    copyFileSync(target, newer);
    inputs.push([
      "newer.db",
      (p) => {
        const db = new Database(p);
        db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (998, '0998_future.sql', 0)");
        db.close();
      },
      /0998_future\.sql, newer than this fazt knows.*upgrade fazt/,
    ]);
    const corrupt = join(dir, "corrupt.db");
    inputs.push([
      "corrupt.db",
      (p) => {
        copyFileSync(target, p);
        const bytes = readFileSync(p);
        bytes.fill(0x5a, 4096 * 3, 4096 * 6); // pages in the middle of the schema's tables
        writeFileSync(p, bytes);
      },
      /integrity_check|not a readable SQLite database|malformed/,
    ]);
    for (const [name, make, message] of inputs) {
      const input = join(dir, name);
      make(input);
      const r = await runFazt(["restore", input, "--db", target]);
      expect({ name, code: r.code, stdout: r.stdout }).toEqual({ name, code: 1, stdout: "" });
      expect(r.stderr).toMatch(message);
    }
    expect(readFileSync(target).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((n) => n.includes(".replaced-") || n.includes("restore-tmp"))).toEqual([]);
    expect(existsSync(corrupt) && existsSync(newer)).toBe(true);
  }, 30_000);

  test("refuses while a server has the database open; after a crash it restores and keeps the replaced file, 0600", async () => {
    const dir = newDir();
    const db = join(dir, "fazt.db");
    const f = await startFazt({ dir, db });
    const backup = join(dir, "backup.db");
    try {
      expect((await api(f, "/api/sites", { method: "POST", json: { name: "old" } })).status).toBe(201);
      expect((await runFazt(["backup", backup, "--db", db])).code).toBe(0);
      expect((await api(f, "/api/sites", { method: "POST", json: { name: "newer" } })).status).toBe(201);
      const refused = await runFazt(["restore", backup, "--db", db]);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain("is in use by another process (a running fazt serve");
      // The server goes on with its own file: writes after the refusal are kept.
      expect((await api(f, "/api/sites", { method: "POST", json: { name: "after" } })).status).toBe(201);
      expect(readdirSync(dir).sort()).toEqual(["backup.db", "fazt.db", "fazt.db-shm", "fazt.db-wal"]);
    } finally {
      await f.stop("SIGKILL"); // a crash: the OS drops its locks, nothing stale is left to force
    }
    const r = await runFazt(["restore", backup, "--db", db]);
    expect(r.code).toBe(0);
    const replaced = /the replaced database is kept as (\S+)/.exec(r.stdout)![1]!;
    expect(replaced).toMatch(/fazt\.db\.replaced-\d{8}T\d{6}Z$/);
    expect(mode(replaced)).toBe("600");
    expect(mode(db)).toBe("600");
    // The crashed server's WAL was checkpointed into the kept file, which stands alone.
    expect(siteNames(replaced)).toEqual(["after", "newer", "old"]);
    expect(existsSync(`${replaced}-wal`)).toBe(false);
    expect(siteNames(db)).toEqual(["old"]);
    expect(query(db, "PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }]);
    const g = await startFazt({ dir, db });
    try {
      const sites = await (await api(g, "/api/sites", { token: null })).status;
      expect(sites).toBe(401); // the restored tokens are the backup's; none is printed (one exists)
      expect(g.token).toBeNull();
    } finally {
      await g.stop();
    }
  }, 30_000);
});

describe("another application's SQLite file, a newer Fazt's database", () => {
  test("every local command and serve refuse it with exit 1 and leave it unchanged", async () => {
    const dir = newDir();
    const path = join(dir, "app.db");
    foreignDb(path);
    const before = readFileSync(path);
    for (const args of [
      ["serve", "--http", "127.0.0.1:0"],
      ["token", "create"],
      ["token", "create", "--site", "x"],
      ["backup", join(dir, "copy.db")],
    ]) {
      const r = await runFazt([...args, "--db", path], { cwd: dir });
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toContain(`${path} is not a Fazt database: it is another application's SQLite file`);
    }
    const user = await runFazt(["user", "create", "alice", "--db", path, "--password-stdin"], { stdin: "long password here\n" });
    expect(user.code).toBe(1);
    expect(readFileSync(path).equals(before)).toBe(true);
    expect(query(path, "SELECT name FROM sqlite_master")).toEqual([{ name: "notes" }]);
    expect(readdirSync(dir)).toEqual(["app.db"]);
  }, 30_000);

  test("an empty file and an empty SQLite file are fine: they become Fazt databases", async () => {
    const dir = newDir();
    for (const name of ["zero.db", "blank.db"]) {
      const path = join(dir, name);
      if (name === "zero.db") writeFileSync(path, "");
      else foreignDb(path, "CREATE TABLE t (x); DROP TABLE t");
      const r = await runFazt(["token", "create", "--db", path]);
      expect({ name, code: r.code }).toEqual({ name, code: 0 });
      expect(query<{ n: number }[]>(path, "SELECT count(*) AS n FROM tokens")).toEqual([{ n: 1 }]);
    }
  }, 30_000);

  test("a database with a migration this fazt does not know is refused by serve and local commands", async () => {
    const dir = newDir();
    const path = join(dir, "fazt.db");
    expect((await runFazt(["token", "create", "--db", path])).code).toBe(0);
    const db = new Database(path);
    db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (3, '0003_from_the_future.sql', 0)");
    db.close();
    for (const args of [
      ["serve", "--http", "127.0.0.1:0"],
      ["token", "create"],
    ]) {
      const r = await runFazt([...args, "--db", path], { cwd: dir });
      expect({ args, code: r.code }).toEqual({ args, code: 1 });
      expect(r.stderr).toContain("has migration 0003_from_the_future.sql, newer than this fazt knows");
      expect(r.stderr).toContain("written by a newer fazt; upgrade fazt");
    }
  }, 30_000);
});

describe("first admin token", () => {
  test("a start that cannot bind creates none; the next start that serves prints it with where to keep it", async () => {
    const dir = newDir();
    const db = join(dir, "fazt.db");
    const taken = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("busy") });
    try {
      const r = await runFazt(["serve", "--db", db, "--http", `127.0.0.1:${taken.port}`], { cwd: dir, env: { FAZT_LOG_LEVEL: "info" } });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`cannot listen on 127.0.0.1:${taken.port}`);
      expect(r.stderr).not.toContain("fzt_");
    } finally {
      taken.stop(true);
    }
    expect(query(db, "SELECT id FROM tokens")).toEqual([]);
    const f = await startFazt({ dir, db });
    try {
      expect(f.token).toMatch(/^fzt_/);
      expect((await api(f, "/api/sites")).status).toBe(200);
      expect(f.stderr()).toContain(`"msg":"created the first admin token; it is printed once below, fazt stores only its hash"`);
      expect(f.stderr()).toContain(`"token_id":"${f.token!.slice(4, 16)}"`);
      expect(f.stderr()).toContain(`First admin token (shown only this once):\n  ${f.token}\nKeep it in a password manager`);
    } finally {
      await f.stop();
    }
    const again = await startFazt({ dir, db });
    await again.stop();
    expect(again.token).toBeNull();
  }, 30_000);
});

describe("file modes", () => {
  test("fazt.db, -wal, -shm and backups are created 0600; looser existing files are tightened with a warning", async () => {
    const dir = newDir();
    const db = join(dir, "fazt.db");
    const f = await startFazt({ dir, db });
    try {
      expect((await api(f, "/api/sites", { method: "POST", json: { name: "m" } })).status).toBe(201);
      for (const file of [db, `${db}-wal`, `${db}-shm`]) expect({ file, mode: mode(file) }).toEqual({ file, mode: "600" });
      const backup = join(dir, "backup.db");
      expect((await runFazt(["backup", backup, "--db", db])).code).toBe(0);
      expect(mode(backup)).toBe("600");
      for (const file of [db, `${db}-wal`, `${db}-shm`]) chmodSync(file, 0o644);
    } finally {
      await f.stop("SIGKILL"); // leaves -wal and -shm behind, 0644
    }
    const local = await runFazt(["token", "create", "--db", db]);
    expect(local.code).toBe(0);
    for (const file of [db, `${db}-wal`, `${db}-shm`]) {
      expect(local.stderr).toContain(`fazt: warning: ${file} was readable by other users; its mode is now 0600`);
    }
    chmodSync(db, 0o640);
    const g = await startFazt({ dir, db });
    try {
      expect(g.stderr()).toMatch(/"level":"warn","msg":"[^"]*fazt\.db was readable by other users; its mode is now 0600"/);
      for (const file of [db, `${db}-wal`, `${db}-shm`]) expect({ file, mode: mode(file) }).toEqual({ file, mode: "600" });
    } finally {
      await g.stop();
    }
  }, 30_000);
});
