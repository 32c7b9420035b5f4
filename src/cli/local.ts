// Local admin commands: they work on the database file directly.
import { existsSync, renameSync, rmSync } from "node:fs";
import { Database } from "bun:sqlite";
import type { CommandBody } from "./command.ts";
import { str, UsageError } from "./command.ts";
import { dbFlag } from "./common.ts";
import { createToken, listTokens, revokeToken } from "../auth/tokens.ts";
import { getSite } from "../sites/index.ts";
import { createUser } from "../auth/users.ts";
import { Store, assertSqliteFile, migrate, DatabaseError } from "../db/index.ts";

export const tokenCreateCommand: CommandBody = {
  usage: "[--site NAME]",
  maxArgs: 0,
  flags: { ...dbFlag, site: { type: "string", description: "scope the token to this site", noEnv: true } },
  run(args) {
    const store = Store.open(str(args, "db")!);
    try {
      const siteName = str(args, "site");
      const siteId = siteName ? getSite(store, siteName).id : null;
      const token = createToken(store, { siteId, label: siteName ? `deploy:${siteName}` : "admin (cli)" });
      process.stderr.write(siteName ? `Token for site ${siteName}:\n` : "Admin token:\n");
      process.stdout.write(token + "\n");
    } finally {
      store.close();
    }
  },
};

export const tokenListCommand: CommandBody = {
  usage: "[--json]",
  maxArgs: 0,
  flags: { ...dbFlag, json: { type: "boolean", description: "print JSON", noEnv: true } },
  run(args) {
    const store = Store.open(str(args, "db")!);
    try {
      const tokens = listTokens(store);
      if (args.flags.json === true) {
        process.stdout.write(JSON.stringify(tokens, null, 2) + "\n");
        return;
      }
      const day = (ms: number | null) => (ms === null ? "never" : new Date(ms).toISOString().slice(0, 16).replace("T", " "));
      process.stdout.write(`${"ID".padEnd(14)}${"SCOPE".padEnd(24)}${"CREATED".padEnd(18)}${"LAST USED".padEnd(18)}LABEL\n`);
      for (const t of tokens) {
        const scope = t.siteName === null ? "admin" : `site:${t.siteName}`;
        process.stdout.write(`${t.id.padEnd(14)}${scope.padEnd(24)}${day(t.createdAt).padEnd(18)}${day(t.lastUsedAt).padEnd(18)}${t.label}\n`);
      }
    } finally {
      store.close();
    }
  },
};

export const tokenRevokeCommand: CommandBody = {
  usage: "ID",
  minArgs: 1,
  maxArgs: 1,
  flags: { ...dbFlag },
  run(args) {
    const store = Store.open(str(args, "db")!);
    try {
      if (!revokeToken(store, args.positionals[0]!)) throw new Error(`no token ${args.positionals[0]}`);
      process.stdout.write(`revoked ${args.positionals[0]}\n`);
    } finally {
      store.close();
    }
  },
};

async function readPassword(fromStdin: boolean): Promise<string> {
  if (!fromStdin) throw new UsageError("give the password on standard input with --password-stdin");
  const text = await new Response(Bun.stdin.stream()).text();
  return text.replace(/\r?\n$/, "");
}

export const userCreateCommand: CommandBody = {
  usage: "NAME --password-stdin",
  minArgs: 1,
  maxArgs: 1,
  flags: { ...dbFlag, "password-stdin": { type: "boolean", description: "read the password from standard input", noEnv: true } },
  async run(args) {
    const password = await readPassword(args.flags["password-stdin"] === true);
    const store = Store.open(str(args, "db")!);
    try {
      await createUser(store, args.positionals[0]!, password);
      process.stdout.write(`created user ${args.positionals[0]}\n`);
    } finally {
      store.close();
    }
  },
};

export const backupCommand: CommandBody = {
  usage: "OUT.db",
  minArgs: 1,
  maxArgs: 1,
  flags: { ...dbFlag },
  run(args) {
    const out = args.positionals[0]!;
    if (existsSync(out)) throw new UsageError(`${out} already exists; choose a new file`);
    const store = Store.open(str(args, "db")!);
    try {
      // VACUUM INTO reads one snapshot (a WAL read transaction): consistent while writers go on.
      store.write.run("VACUUM INTO ?", [out]);
    } finally {
      store.close();
    }
    process.stdout.write(`backup written to ${out}\n`);
  },
};

export const restoreCommand: CommandBody = {
  usage: "IN.db",
  minArgs: 1,
  maxArgs: 1,
  flags: { ...dbFlag },
  run(args) {
    const input = args.positionals[0]!;
    const target = str(args, "db")!;
    if (!existsSync(input)) throw new UsageError(`${input} does not exist`);
    assertSqliteFile(input);
    const staged = `${target}.restore-tmp`;
    rmSync(staged, { force: true });
    const src = new Database(input, { readonly: true });
    try {
      const check = src.query("PRAGMA integrity_check").get() as { integrity_check: string };
      if (check.integrity_check !== "ok") throw new DatabaseError(`${input} failed integrity_check: ${check.integrity_check}`);
      src.run("VACUUM INTO ?", [staged]);
    } finally {
      src.close();
    }
    const db = new Database(staged);
    try {
      db.run("PRAGMA journal_mode = WAL");
      migrate(db);
    } finally {
      db.close();
    }
    for (const suffix of ["-wal", "-shm"]) rmSync(target + suffix, { force: true });
    renameSync(staged, target);
    process.stdout.write(`restored ${input} into ${target}\n`);
  },
};
