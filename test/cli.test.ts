import { describe, expect, test, afterAll, setDefaultTimeout } from "bun:test";
import { writeFileSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { runFazt, tempDir, cleanup, startFazt, api } from "./helpers/fazt.ts";
import { COMMANDS } from "../src/cli/index.ts";

const dir = tempDir();
afterAll(() => cleanup(dir));
// Each test spawns fazt processes; bunfig's [test] timeout is not a Bun setting, so the default would be 5 s.
setDefaultTimeout(30_000);

describe("exit codes and help", () => {
  test("--help exits 0 with usage on stdout, for fazt and every command", async () => {
    const top = await runFazt(["--help"]);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain("Usage: fazt COMMAND");
    // Every registered command: its module loads (commands are imported lazily) and has help.
    for (const cmd of COMMANDS.map((c) => c.name)) {
      expect(top.stdout).toContain(`  ${cmd} `);
      const r = await runFazt([...cmd.split(" "), "--help"]);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: fazt ${cmd}`);
    }
  });

  test("unknown command, bad flag, bad value, missing argument: one line on stderr, exit 2", async () => {
    for (const args of [
      ["frobnicate"],
      ["serve", "--no-such-flag"],
      ["serve", "--http", "not an address"],
      ["backup"],
      ["version", "extra"],
      [],
    ]) {
      const r = await runFazt(args, { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stdout).toBe("");
    }
  });

  test("version prints the version first, then commit and build date", async () => {
    const r = await runFazt(["version"]);
    expect(r.code).toBe(0);
    const version = (await Bun.file(join(import.meta.dir, "../package.json")).json()).version;
    // Run from source: no build constants (test/release.test.ts checks a built binary).
    expect(r.stdout).toBe(`${version} (commit dev, built from source)\n`);
  });

  test("runtime failure exits 1: a non-SQLite --db is refused and not overwritten", async () => {
    const path = join(dir, "notes.txt");
    writeFileSync(path, "not a database\n".repeat(50));
    for (const args of [
      ["token", "create", "--db", path],
      ["serve", "--db", path, "--http", "127.0.0.1:0"],
    ]) {
      const r = await runFazt(args, { cwd: dir });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain("not a Fazt database");
    }
    expect(readFileSync(path, "utf8")).toBe("not a database\n".repeat(50));
  });

  test("flags come from FAZT_* variables too", async () => {
    const db = join(dir, "env.db");
    const r = await runFazt(["token", "create"], { cwd: dir, env: { FAZT_DB: db } });
    expect(r.code).toBe(0);
    expect(existsSync(db)).toBe(true);
  });
});

describe("local commands", () => {
  test("token create prints a working admin token as the last line", async () => {
    const db = join(dir, "tok.db");
    const r = await runFazt(["token", "create", "--db", db]);
    expect(r.code).toBe(0);
    const token = r.stdout.trim().split("\n").at(-1)!;
    expect(token).toMatch(/^fzt_[a-z2-7]{12}_[A-Za-z0-9_-]{43}$/);
    const f = await startFazt({ db, dir });
    try {
      expect(f.token).toBeNull(); // an admin token existed: none printed
      const res = await api(f, "/api/sites", { token });
      expect(res.status).toBe(200);
      expect((await api(f, "/api/sites", { token: `${token.slice(0, -2)}zz` })).status).toBe(401);
      expect((await api(f, "/api/sites", { token: null })).status).toBe(401);
    } finally {
      await f.stop();
    }
  });

  test("tokens are listed (never the secret), created with a label and revoked, by the API and the CLI", async () => {
    const db = join(dir, "toklist.db");
    const f = await startFazt({ db, dir });
    try {
      expect((await api(f, "/api/sites", { method: "POST", json: { name: "docs" } })).status).toBe(201);
      const made = await api(f, "/api/sites/docs/tokens", { method: "POST", json: { label: "ci deploys" } });
      const siteToken = ((await made.json()) as { token: string }).token;
      expect((await api(f, "/api/sites/docs", { token: siteToken })).status).toBe(200);
      const list = (await (await api(f, "/api/tokens")).json()) as { tokens: Record<string, unknown>[] };
      const body = JSON.stringify(list);
      expect(body).not.toContain(siteToken.slice(17));
      expect(body).not.toContain(f.token!.slice(17));
      const docs = list.tokens.find((t) => t.label === "ci deploys")!;
      expect(docs).toMatchObject({ scope: "site:docs", site: "docs", id: siteToken.slice(4, 16) });
      expect(typeof docs.last_used_at).toBe("string");
      const admin = list.tokens.find((t) => t.scope === "admin")!;
      expect(admin.label).toBe("first admin");
      expect((await api(f, "/api/tokens", { token: siteToken })).status).toBe(403);

      const cli = await runFazt(["token", "list", "--db", db]);
      expect(cli.code).toBe(0);
      expect(cli.stdout).toContain("site:docs");
      expect(cli.stdout).toContain("ci deploys");
      expect(cli.stdout).not.toContain(siteToken.slice(17));

      expect((await api(f, `/api/tokens/${docs.id}`, { method: "DELETE" })).status).toBe(200);
      expect((await api(f, "/api/sites/docs", { token: siteToken })).status).toBe(401);
      expect((await api(f, `/api/tokens/${docs.id}`, { method: "DELETE" })).status).toBe(404);

      const other = ((await (await api(f, "/api/tokens", { method: "POST", json: { site: "docs" } })).json()) as { token: string }).token;
      expect((await api(f, "/api/sites/docs", { token: other })).status).toBe(200);
      const revoked = await runFazt(["token", "revoke", "--db", db, other.slice(4, 16)]);
      expect(revoked.code).toBe(0);
      expect((await api(f, "/api/sites/docs", { token: other })).status).toBe(401);
      expect((await runFazt(["token", "revoke", "--db", db, "nosuchtoken1"])).code).toBe(1);
    } finally {
      await f.stop();
    }
  });

  test("token create --site for an unknown site fails with exit 1", async () => {
    const r = await runFazt(["token", "create", "--db", join(dir, "tok2.db"), "--site", "nope"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no site named "nope"');
  });

  test("user create stores an argon2id hash", async () => {
    const db = join(dir, "users.db");
    const r = await runFazt(["user", "create", "alice", "--db", db, "--password-stdin"], { stdin: "correct horse battery\n" });
    expect(r.code).toBe(0);
    const row = new Database(db).query("SELECT password_hash FROM users WHERE name='alice'").get() as { password_hash: string };
    expect(row.password_hash.startsWith("$argon2id$")).toBe(true);
    const again = await runFazt(["user", "create", "alice", "--db", db, "--password-stdin"], { stdin: "another password\n" });
    expect(again.code).toBe(1);
  });

  test("backup copies the live database; restore checks and swaps it in", async () => {
    const f = await startFazt({ dir: tempDir() });
    try {
      expect((await api(f, "/api/sites", { method: "POST", json: { name: "blog" } })).status).toBe(201);
      const out = join(dir, "backup.db");
      const b = await runFazt(["backup", out, "--db", f.db]);
      expect(b.code).toBe(0);
      const copy = new Database(out, { readonly: true });
      expect(copy.query("SELECT name FROM sites").all()).toEqual([{ name: "blog" }]);
      copy.close();
      const target = join(dir, "restored.db");
      const rs = await runFazt(["restore", out, "--db", target]);
      expect(rs.code).toBe(0);
      const restored = new Database(target, { readonly: true });
      expect(restored.query("SELECT name FROM sites").all()).toEqual([{ name: "blog" }]);
      restored.close();
      writeFileSync(join(dir, "junk.db"), "junk");
      const bad = await runFazt(["restore", join(dir, "junk.db"), "--db", target]);
      expect(bad.code).toBe(1);
    } finally {
      await f.stop();
      cleanup(f.dir);
    }
  });
});
