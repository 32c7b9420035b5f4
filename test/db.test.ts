import { describe, expect, test, afterAll } from "bun:test";
import { Database } from "bun:sqlite";
import { readdirSync, writeFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Store, migrate, schemaVersion, DatabaseError, PRAGMAS } from "../src/db/index.ts";
import { migrations } from "../src/db/migrations.ts";
import { tempDir, cleanup, ROOT } from "./helpers/fazt.ts";

const dir = tempDir();
afterAll(() => cleanup(dir));

describe("migrations", () => {
  test("every file in migrations/ is embedded, numbered in order", () => {
    const files = readdirSync(join(ROOT, "migrations"))
      .filter((f) => f.endsWith(".sql"))
      .sort();
    expect(migrations.map((m) => m.name)).toEqual(files);
    // Numbers are reserved per area, so gaps are allowed; order and names must agree.
    migrations.forEach((m, i) => {
      if (i > 0) expect(m.version).toBeGreaterThan(migrations[i - 1]!.version);
      expect(m.name.startsWith(`${String(m.version).padStart(4, "0")}_`)).toBe(true);
    });
  });

  test("fresh database gets the whole schema, recorded", () => {
    const store = Store.open(join(dir, "fresh.db"));
    expect(schemaVersion(store.write)).toBe(migrations.at(-1)!.version);
    const tables = (store.write.query("SELECT name FROM sqlite_master WHERE type='table'").all() as { name: string }[]).map((r) => r.name);
    for (const t of [
      "sites",
      "domains",
      "deploys",
      "deploy_files",
      "blobs",
      "chunks",
      "certificates",
      "locks",
      "analytics_events",
      "mail_outbox",
      "mail_inbox",
      "users",
      "tokens",
      "settings",
    ]) {
      expect(tables).toContain(t);
    }
    store.close();
  });

  test("upgrade applies only the pending migrations, in one transaction", () => {
    const db = new Database(":memory:");
    const list = [
      { version: 1, name: "0001_a.sql", sql: "CREATE TABLE a (x INTEGER);" },
      { version: 2, name: "0002_b.sql", sql: "CREATE TABLE b (y INTEGER);" },
    ];
    expect(migrate(db, list.slice(0, 1))).toEqual({ from: 0, to: 1 });
    db.run("INSERT INTO a VALUES (42)");
    expect(migrate(db, list)).toEqual({ from: 1, to: 2 });
    expect(db.query("SELECT x FROM a").get()).toEqual({ x: 42 });
    expect(migrate(db, list)).toEqual({ from: 2, to: 2 });
    // A failing migration leaves nothing half-applied.
    const broken = [...list, { version: 3, name: "0003_c.sql", sql: "CREATE TABLE c (z); INSERT INTO nope VALUES (1);" }];
    expect(() => migrate(db, broken)).toThrow();
    expect(schemaVersion(db)).toBe(2);
    expect(db.query("SELECT name FROM sqlite_master WHERE name='c'").get()).toBeNull();
  });

  test("a migration numbered below the applied maximum (landed late) is still applied", () => {
    const db = new Database(":memory:");
    const early = { version: 1, name: "0001_a.sql", sql: "CREATE TABLE a (x INTEGER);" };
    const late = { version: 2, name: "0002_b.sql", sql: "CREATE TABLE b (y INTEGER);" };
    const other = { version: 3, name: "0003_c.sql", sql: "CREATE TABLE c (z INTEGER);" };
    migrate(db, [early, other]);
    expect(migrate(db, [early, late, other])).toEqual({ from: 3, to: 3 });
    expect(db.query("SELECT name FROM sqlite_master WHERE name='b'").get()).toEqual({ name: "b" });
  });

  test("0009 backfills activation history: the live deploy and older ones were live, newer ones count as previews", () => {
    const db = new Database(":memory:");
    db.run("PRAGMA foreign_keys = ON");
    migrate(
      db,
      migrations.filter((m) => m.version < 9),
    );
    db.run("INSERT INTO sites (id, name, created_at) VALUES (1, 'a', 0), (2, 'b', 0)");
    const add = db.prepare("INSERT INTO deploys (id, site_id, files, bytes, created_at) VALUES (?, ?, 0, 0, ?)");
    for (const [id, site, t] of [
      ["a1", 1, 10],
      ["a2", 1, 20],
      ["a3", 1, 30],
      ["b1", 2, 10],
    ] as const)
      add.run(id, site, t);
    db.run("UPDATE sites SET live_deploy_id = 'a2' WHERE id = 1"); // a3 came later: a preview or rolled back from; b: nothing live
    migrate(db);
    expect(db.query("SELECT id, activated_at AS t FROM deploys ORDER BY id").all()).toEqual([
      { id: "a1", t: 10 },
      { id: "a2", t: 20 },
      { id: "a3", t: null },
      { id: "b1", t: null },
    ]);
  });

  test("a newer schema is refused", () => {
    const path = join(dir, "newer.db");
    Store.open(path).close();
    const db = new Database(path);
    db.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)");
    db.close();
    expect(() => Store.open(path)).toThrow(/newer than this fazt knows/);
  });
});

describe("connections", () => {
  test("pragmas are set on both connections", () => {
    const store = Store.open(join(dir, "pragmas.db"));
    for (const db of [store.write, store.read]) {
      const get = (p: string) => Object.values(db.query(`PRAGMA ${p}`).get() as object)[0];
      expect(get("journal_mode")).toBe("wal");
      expect(get("busy_timeout")).toBe(5000);
      expect(get("synchronous")).toBe(1); // NORMAL
      expect(get("foreign_keys")).toBe(1);
      expect(get("cache_size")).toBe(PRAGMAS.cache_size);
      expect(get("mmap_size")).toBe(PRAGMAS.mmap_size);
    }
    expect(() => store.read.run("INSERT INTO settings VALUES ('a','b',0)")).toThrow();
    expect(store.write.query("PRAGMA auto_vacuum").get()).toEqual({ auto_vacuum: 2 }); // incremental, from creation
    expect(store.autoVacuum).toBe("already");
    store.close();
  });

  test("a database made before auto-vacuum is rewritten once at open, its data kept; freed pages then go back", () => {
    const path = join(dir, "old.db");
    const old = new Database(path, { create: true });
    old.run("PRAGMA journal_mode = WAL");
    migrate(old);
    old.run("INSERT INTO settings VALUES ('kept', 'yes', 0)");
    old.run("CREATE TABLE filler (b BLOB)");
    for (let i = 0; i < 40; i++) old.run("INSERT INTO filler VALUES (randomblob(100000))");
    old.run("DELETE FROM filler");
    expect(old.query("PRAGMA auto_vacuum").get()).toEqual({ auto_vacuum: 0 });
    old.close();
    const store = Store.open(path);
    expect(store.autoVacuum).toBe("vacuumed");
    expect(store.write.query("PRAGMA auto_vacuum").get()).toEqual({ auto_vacuum: 2 });
    expect(store.read.query("SELECT value FROM settings WHERE key = 'kept'").get()).toEqual({ value: "yes" });
    store.write.run("INSERT INTO filler SELECT randomblob(100000) FROM (SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3)");
    store.write.run("DELETE FROM filler");
    expect(store.freeSpace().pages).toBeGreaterThan(50);
    expect(store.reclaim(1_000_000)).toBe(0);
    store.close();
    const again = Store.open(path);
    expect(again.autoVacuum).toBe("already");
    again.close();
  });

  test("the reader sees committed state only and never waits for the writer", () => {
    const store = Store.open(join(dir, "isolation.db"));
    store.write.run("BEGIN IMMEDIATE");
    store.write.run("INSERT INTO settings VALUES ('k', 'v', 0)");
    expect(store.read.query("SELECT count(*) AS n FROM settings").get()).toEqual({ n: 0 });
    store.write.run("COMMIT");
    expect(store.read.query("SELECT count(*) AS n FROM settings").get()).toEqual({ n: 1 });
    store.close();
  });

  test("a non-SQLite file is refused and left untouched", () => {
    const path = join(dir, "not-a-db.db");
    const content = "this is my precious text file, not a database\n".repeat(100);
    writeFileSync(path, content);
    expect(() => Store.open(path)).toThrow(DatabaseError);
    expect(readFileSync(path, "utf8")).toBe(content);
  });

  test("a corrupt SQLite file gives a clear error", () => {
    const path = join(dir, "corrupt.db");
    const store = Store.open(path);
    store.write.run("PRAGMA wal_checkpoint(TRUNCATE)");
    store.close();
    const bytes = readFileSync(path);
    bytes.fill(0x5a, 100, 4096); // trash the first page after the header
    writeFileSync(path, bytes);
    expect(() => Store.open(path)).toThrow(/cannot open|malformed|not a database/);
  });
});
