// Client commands: they talk to a running server's API (--server, --token).
import { lstatSync, readdirSync, readFileSync, existsSync, statSync } from "node:fs";
import { join, relative, sep } from "node:path";
import ignore from "ignore";
import type { CommandBody, FlagSpec, ParsedArgs } from "./command.ts";
import { str, UsageError } from "./command.ts";
import { Progress } from "./progress.ts";
import { formatSize } from "../core/bytes.ts";
import { isHiddenPath, isReservedPath } from "../vfs/paths.ts";

export const clientFlags: Record<string, FlagSpec> = {
  server: { type: "string", description: "the Fazt server", default: "http://localhost:8080" },
  token: { type: "string", description: "API token (admin, or the site's deploy token)" },
};

type RawBody = ReadableStream<Uint8Array> | Uint8Array | string | Blob;

export class Client {
  constructor(
    readonly server: string,
    private readonly token: string | undefined,
  ) {}

  static from(args: ParsedArgs): Client {
    const server = str(args, "server")!.replace(/\/+$/, "");
    if (!/^https?:\/\/[^/]+$/.test(server)) throw new UsageError(`--server: expected http(s)://host[:port], got "${server}"`);
    return new Client(server, str(args, "token"));
  }

  async request<T>(method: string, path: string, body?: RawBody | object, headers: Record<string, string> = {}): Promise<T> {
    const h: Record<string, string> = { ...headers };
    if (this.token) h.authorization = `Bearer ${this.token}`;
    let payload: RawBody | undefined;
    if (body instanceof ReadableStream || body instanceof Uint8Array || typeof body === "string" || body instanceof Blob) payload = body;
    else if (body !== undefined) {
      payload = JSON.stringify(body);
      h["content-type"] = "application/json";
    }
    let res: Response;
    try {
      res = await fetch(this.server + path, { method, headers: h, body: payload });
    } catch (err) {
      throw new Error(`cannot reach ${this.server}: ${(err as Error).message}`);
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      throw new Error(`${method} ${path}: HTTP ${res.status} (not a Fazt API answer)`);
    }
    if (!res.ok) {
      const e = (json as { error?: { message?: string } }).error;
      if (res.status === 401 && !this.token) throw new Error("no token: pass --token or set FAZT_TOKEN");
      throw new Error(e?.message ?? `HTTP ${res.status}`);
    }
    return json as T;
  }

  /** A GET whose answer is not JSON (a CSV export): the response when it is 2xx, else the API's error. */
  async download(path: string): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(this.server + path, { headers: this.token ? { authorization: `Bearer ${this.token}` } : {} });
    } catch (err) {
      throw new Error(`cannot reach ${this.server}: ${(err as Error).message}`);
    }
    if (res.ok) return res;
    const e = ((await res.json().catch(() => ({}))) as { error?: { message?: string } }).error;
    if (res.status === 401 && !this.token) throw new Error("no token: pass --token or set FAZT_TOKEN");
    throw new Error(e?.message ?? `HTTP ${res.status}`);
  }
}

interface SiteView {
  name: string;
  domains: string[];
  live_deploy: string | null;
  url: string;
}

interface DeployView {
  id: string;
  files: number;
  bytes: number;
  created_at: string;
  live: boolean;
  /** When it was last made live; null for a preview that never was. */
  activated_at: string | null;
  preview: boolean;
  url: string;
  preview_url: string;
}

/** The deploy that was live before the live one (most recently activated of the others); never a preview. */
function previousLive(deploys: readonly DeployView[]): DeployView | undefined {
  const candidates = deploys.filter((d) => !d.live && d.activated_at !== null);
  return candidates.sort((a, b) => Date.parse(b.activated_at!) - Date.parse(a.activated_at!))[0];
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join("  ")).join("\n")}\n`;
}

const siteName = (args: ParsedArgs) => encodeURIComponent(args.positionals[0]!);

export const sitesCommand: CommandBody = {
  usage: "[--server URL] [--token T]",
  maxArgs: 0,
  flags: clientFlags,
  async run(args) {
    const { sites } = await Client.from(args).request<{ sites: SiteView[] }>("GET", "/api/sites");
    if (sites.length === 0) return void process.stdout.write("no sites yet (fazt site add NAME)\n");
    process.stdout.write(
      table([
        ["NAME", "LIVE DEPLOY", "URL", "DOMAINS"],
        ...sites.map((s) => [s.name, s.live_deploy ?? "-", s.url, s.domains.join(",") || "-"]),
      ]),
    );
  },
};

export const siteAddCommand: CommandBody = {
  usage: "NAME [--domain D]...",
  minArgs: 1,
  maxArgs: 1,
  flags: { ...clientFlags, domain: { type: "string", multiple: true, description: "a custom domain (repeatable)", noEnv: true } },
  async run(args) {
    const domains = (args.flags.domain as string[] | undefined) ?? [];
    const site = await Client.from(args).request<SiteView>("POST", "/api/sites", { name: args.positionals[0], domains });
    process.stdout.write(`created site ${site.name}: ${site.url}${site.domains.length ? ` (${site.domains.join(", ")})` : ""}\n`);
  },
};

/** key=value: the value as JSON when it parses (true, 3600, null), else as a string; headers.NAME=V sets one header. */
function settingsPatch(pairs: string[]): Record<string, unknown> {
  const patch: Record<string, unknown> = {};
  for (const pair of pairs) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`expected key=value, got "${pair}"`);
    const key = pair.slice(0, eq).replaceAll("-", "_");
    const raw = pair.slice(eq + 1);
    if (key.startsWith("headers.")) {
      patch.headers = { ...(patch.headers as Record<string, string> | undefined), [pair.slice(8, eq)]: raw };
      continue;
    }
    let value: unknown = raw;
    try {
      // A password is taken as written ("1234" stays a string); only null clears it.
      value = key === "password" && raw !== "null" ? raw : JSON.parse(raw);
    } catch {
      // a plain string
    }
    patch[key] = value;
  }
  return patch;
}

export const siteSetCommand: CommandBody = {
  usage: "NAME [key=value]...",
  minArgs: 1,
  flags: clientFlags,
  async run(args) {
    const [name, ...pairs] = args.positionals as [string, ...string[]];
    const path = `/api/sites/${encodeURIComponent(name)}/settings`;
    const client = Client.from(args);
    const r = pairs.length
      ? await client.request<{ settings: unknown }>("PATCH", path, settingsPatch(pairs))
      : await client.request<{ settings: unknown }>("GET", path);
    process.stdout.write(`${JSON.stringify(r.settings, null, 2)}\n`);
  },
};

export const siteRmCommand: CommandBody = {
  usage: "NAME",
  minArgs: 1,
  maxArgs: 1,
  flags: clientFlags,
  async run(args) {
    await Client.from(args).request("DELETE", `/api/sites/${siteName(args)}`);
    process.stdout.write(`deleted site ${args.positionals[0]}\n`);
  },
};

export const deploysCommand: CommandBody = {
  usage: "NAME [--json]",
  minArgs: 1,
  maxArgs: 1,
  flags: { ...clientFlags, json: { type: "boolean", description: "print the API's JSON", noEnv: true } },
  async run(args) {
    const report = await Client.from(args).request<{ site: string; deploys: DeployView[] }>("GET", `/api/sites/${siteName(args)}/deploys`);
    if (args.flags.json) return void process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    const { deploys } = report;
    if (deploys.length === 0) return void process.stdout.write("no deploys yet\n");
    const previous = previousLive(deploys);
    const state = (d: DeployView) => (d.live ? "live" : d === previous ? "previous" : d.preview ? "preview" : "");
    const rows = deploys.map((d) => [d.id, state(d), d.created_at, String(d.files), formatSize(d.bytes), d.preview_url]);
    process.stdout.write(table([["ID", "STATE", "CREATED", "FILES", "SIZE", "PREVIEW"], ...rows]));
  },
};

export const rollbackCommand: CommandBody = {
  usage: "NAME [DEPLOY_ID]",
  minArgs: 1,
  maxArgs: 2,
  flags: clientFlags,
  async run(args) {
    const client = Client.from(args);
    let id = args.positionals[1];
    if (!id) {
      const { deploys } = await client.request<{ deploys: DeployView[] }>("GET", `/api/sites/${siteName(args)}/deploys`);
      const previous = previousLive(deploys);
      if (!previous) throw new Error(`site ${args.positionals[0]} has no deploy that was live before the live one`);
      id = previous.id;
    }
    const d = await client.request<DeployView>("POST", `/api/sites/${siteName(args)}/deploys/${encodeURIComponent(id)}/activate`);
    process.stdout.write(`deploy ${d.id} is live: ${d.url}\n`);
  },
};

interface LocalFile {
  path: string; // "/a/b.html"
  abs: string;
  size: number;
  hash: string;
}

/**
 * The files of DIR to deploy: no hidden paths (dotfiles and dot-folders such as .git, .env, but
 * .well-known/ is kept: the server's rule, isHiddenPath), nothing .faztignore names, no symlinks.
 */
function listFiles(
  dir: string,
  warn: (msg: string) => void = () => {},
  includeDotfiles = false,
): { abs: string; path: string; size: number }[] {
  const ig = ignore();
  const ignoreFile = join(dir, ".faztignore");
  if (existsSync(ignoreFile)) ig.add(readFileSync(ignoreFile, "utf8"));
  const out: { abs: string; path: string; size: number }[] = [];
  const walk = (abs: string) => {
    for (const name of readdirSync(abs).sort()) {
      const full = join(abs, name);
      const rel = relative(dir, full).split(sep).join("/");
      // A dot-folder is only walked when something inside it may be published (.well-known/).
      if (!includeDotfiles && isHiddenPath(`/${rel}/x`)) continue;
      const st = lstatSync(full);
      if (st.isSymbolicLink()) {
        warn(`skipping symbolic link ${rel}`);
        continue;
      }
      if (st.isDirectory()) {
        if (!ig.ignores(`${rel}/`)) walk(full);
      } else if (st.isFile() && !ig.ignores(rel) && (includeDotfiles || !isHiddenPath(`/${rel}`)) && !isReservedPath(`/${rel}`)) {
        out.push({ abs: full, path: `/${rel}`, size: st.size });
      }
    }
  };
  walk(dir);
  return out;
}

async function hashFile(abs: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  for await (const piece of Bun.file(abs).stream()) h.update(piece);
  return h.digest("hex");
}

/** Run `fn` over items with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function deployDir(client: Client, site: string, dir: string, activate: boolean): Promise<DeployView> {
  const listed = listFiles(dir, (m) => process.stderr.write(`${m}\n`));
  if (listed.length === 0) throw new Error(`${dir} has no files to deploy`);
  const files: LocalFile[] = [];
  await pool(listed, 8, async (f) => void files.push({ ...f, hash: await hashFile(f.abs) }));
  const manifest = Object.fromEntries(files.map((f) => [f.path, f.hash]));
  const upload = await client.request<{ id: string; required: string[] }>("POST", `/api/sites/${site}/uploads`, { files: manifest });
  const byHash = new Map(files.map((f) => [f.hash, f]));
  const needed = upload.required.map((h) => byHash.get(h)!);
  const total = needed.reduce((n, f) => n + f.size, 0);
  process.stderr.write(
    `${files.length} files; uploading ${needed.length} new (${formatSize(total)}), ${files.length - needed.length} already on the server\n`,
  );
  const progress = new Progress(needed.length, total);
  await pool(needed, 4, async (f) => {
    await client.request("PUT", `/api/sites/${site}/uploads/${upload.id}/blobs/${f.hash}`, Bun.file(f.abs));
    progress.add(1, f.size);
  });
  if (needed.length) progress.done();
  return client.request<DeployView>("POST", `/api/sites/${site}/uploads/${upload.id}/commit`, { activate });
}

async function deployArchive(client: Client, site: string, file: string, activate: boolean): Promise<DeployView> {
  const size = statSync(file).size;
  const progress = new Progress(null, size);
  const source = Bun.file(file).stream();
  const counted = source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, ctl) {
        progress.add(0, chunk.length);
        ctl.enqueue(chunk);
      },
    }),
  );
  const d = await client.request<DeployView>("POST", `/api/sites/${site}/deploys${activate ? "" : "?activate=false"}`, counted, {
    "content-type": "application/octet-stream",
    "content-length": String(size),
  });
  progress.done();
  return d;
}

export const deployCommand: CommandBody = {
  usage: "DIR|ARCHIVE --site NAME [--no-activate]",
  minArgs: 1,
  maxArgs: 1,
  flags: {
    ...clientFlags,
    site: { type: "string", description: "the site to deploy to", noEnv: true },
    "no-activate": { type: "boolean", description: "keep the deploy as a preview; the live one stays", noEnv: true },
  },
  async run(args) {
    const target = args.positionals[0]!;
    const site = str(args, "site");
    if (!site) throw new UsageError("missing --site NAME");
    if (!existsSync(target)) throw new UsageError(`${target} does not exist`);
    const client = Client.from(args);
    const activate = args.flags["no-activate"] !== true;
    const encoded = encodeURIComponent(site);
    const d = statSync(target).isDirectory()
      ? await deployDir(client, encoded, target, activate)
      : await deployArchive(client, encoded, target, activate);
    process.stdout.write(
      `deployed ${d.files} files (${formatSize(d.bytes)}) to ${site}: deploy ${d.id}${d.live ? " (live)" : " (preview)"}\n${d.url}\n`,
    );
  },
};
