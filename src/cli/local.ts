// Local admin commands: they work on the database file directly.
import { createWriteStream, existsSync, rmSync } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as NodeReadableStream } from "node:stream/web";
import { createGzip } from "node:zlib";
import type { CommandBody } from "./command.ts";
import { str, UsageError } from "./command.ts";
import { dbFlag, openLocalStore } from "./common.ts";
import { createToken, listTokens, revokeToken } from "../auth/tokens.ts";
import { getSite } from "../sites/index.ts";
import { openSnapshot } from "../db/snapshot.ts";
import { backupDatabase, restoreDatabase } from "../db/backup.ts";
import { createPrivateFile } from "../db/files.ts";

export const tokenCreateCommand: CommandBody = {
  usage: "[--site NAME]",
  maxArgs: 0,
  flags: { ...dbFlag, site: { type: "string", description: "scope the token to this site", noEnv: true } },
  run(args) {
    const store = openLocalStore(str(args, "db")!);
    try {
      const siteName = str(args, "site");
      const siteId = siteName ? getSite(store, siteName).id : null;
      const token = createToken(store, { siteId, label: siteName ? `deploy:${siteName}` : "admin (cli)" });
      process.stderr.write(siteName ? `Token for site ${siteName}:\n` : "Admin token:\n");
      process.stdout.write(`${token}\n`);
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
    const store = openLocalStore(str(args, "db")!);
    try {
      const tokens = listTokens(store);
      if (args.flags.json === true) {
        process.stdout.write(`${JSON.stringify(tokens, null, 2)}\n`);
        return;
      }
      const day = (ms: number | null) => (ms === null ? "never" : new Date(ms).toISOString().slice(0, 16).replace("T", " "));
      process.stdout.write(`${"ID".padEnd(14)}${"SCOPE".padEnd(24)}${"CREATED".padEnd(18)}${"LAST USED".padEnd(18)}LABEL\n`);
      for (const t of tokens) {
        const scope = t.siteName === null ? "admin" : `site:${t.siteName}`;
        process.stdout.write(
          `${t.id.padEnd(14)}${scope.padEnd(24)}${day(t.createdAt).padEnd(18)}${day(t.lastUsedAt).padEnd(18)}${t.label}\n`,
        );
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
    const store = openLocalStore(str(args, "db")!);
    try {
      if (!revokeToken(store, args.positionals[0]!)) throw new Error(`no token ${args.positionals[0]}`);
      process.stdout.write(`revoked ${args.positionals[0]}\n`);
    } finally {
      store.close();
    }
  },
};

export const backupCommand: CommandBody = {
  usage: "OUT.db [--gzip]",
  minArgs: 1,
  maxArgs: 1,
  flags: { ...dbFlag, gzip: { type: "boolean", description: "write a gzip-compressed copy (OUT.db.gz)", noEnv: true } },
  async run(args) {
    const out = args.positionals[0]!;
    if (existsSync(out)) throw new UsageError(`${out} already exists; choose a new file`);
    const store = openLocalStore(str(args, "db")!);
    try {
      if (args.flags.gzip !== true) backupDatabase(store, out);
    } finally {
      store.close();
    }
    if (args.flags.gzip === true) await writeGzipSnapshot(store.path, out);
    process.stdout.write(`backup written to ${out}\n`);
  },
};

/** The page snapshot (db/snapshot.ts) through gzip into out (zlib works off the main thread). */
async function writeGzipSnapshot(dbPath: string, out: string): Promise<void> {
  createPrivateFile(out); // a backup holds every token and password hash
  const snap = await openSnapshot(dbPath);
  try {
    await pipeline(
      Readable.fromWeb(snap.stream() as NodeReadableStream<Uint8Array>),
      createGzip(),
      createWriteStream(out, { flags: "r+" }),
    );
  } catch (err) {
    rmSync(out, { force: true });
    throw err;
  } finally {
    snap.close();
  }
}

export const restoreCommand: CommandBody = {
  usage: "IN.db",
  minArgs: 1,
  maxArgs: 1,
  flags: { ...dbFlag },
  run(args) {
    const input = args.positionals[0]!;
    const target = str(args, "db")!;
    if (!existsSync(input)) throw new UsageError(`${input} does not exist`);
    const { replaced } = restoreDatabase(input, target);
    process.stdout.write(`restored ${input} into ${target}\n`);
    if (replaced) process.stdout.write(`the replaced database is kept as ${replaced}\n`);
  },
};
