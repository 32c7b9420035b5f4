// Start a real fazt process (source or compiled binary) on a free port, wait
// for its readiness line, and always stop it.
import { mkdtempSync, rmSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

export const ROOT = resolve(import.meta.dir, "../..");
export const BINARY = join(ROOT, "dist/fazt");

export interface FaztProcess {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  port: number;
  /** http://127.0.0.1:PORT */
  url: string;
  /** The first admin token when this start created one. */
  token: string | null;
  dir: string;
  db: string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export function tempDir(prefix = "fazt-test-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** The command that runs fazt: the compiled binary (dist/fazt, or the path given), or the sources under bun. */
export function faztCommand(binary: boolean | string = false): string[] {
  if (typeof binary === "string") return [binary];
  if (binary) {
    if (!existsSync(BINARY)) throw new Error(`${BINARY} missing: run 'bun run build' first`);
    return [BINARY];
  }
  return [process.execPath, join(ROOT, "src/main.ts")];
}

export async function runFazt(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; stdin?: string; binary?: boolean | string } = {},
) {
  const proc = Bun.spawn([...faztCommand(opts.binary), ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, FAZT_LOG_LEVEL: "warn", ...opts.env },
    stdin: opts.stdin !== undefined ? new TextEncoder().encode(opts.stdin) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { stdout, stderr, code };
}

const running = new Set<FaztProcess>();
process.on("exit", () => {
  for (const f of running) f.proc.kill("SIGKILL");
});

export async function startFazt(
  opts: { args?: string[]; env?: Record<string, string>; binary?: boolean | string; dir?: string; db?: string; timeoutMs?: number } = {},
): Promise<FaztProcess> {
  const dir = opts.dir ?? tempDir();
  const db = opts.db ?? join(dir, "fazt.db");
  const hasHttp = (opts.args ?? []).includes("--http");
  const args = ["serve", "--db", db, ...(hasHttp ? [] : ["--http", "127.0.0.1:0"]), ...(opts.args ?? [])];
  const proc = Bun.spawn([...faztCommand(opts.binary), ...args], {
    cwd: dir,
    env: { ...process.env, FAZT_LOG_LEVEL: "info", ...opts.env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  let err = "";
  const decoder = new TextDecoder();
  let ready!: (port: number) => void;
  let failed!: (e: Error) => void;
  const readyP = new Promise<number>((res, rej) => ((ready = res), (failed = rej)));
  (async () => {
    for await (const chunk of proc.stderr) {
      err += decoder.decode(chunk, { stream: true });
      const m = /"http_port":(\d+)/.exec(err);
      if (m) ready(Number(m[1]));
    }
    failed(new Error(`fazt exited before it was ready:\n${err}`));
  })();
  void new Response(proc.stdout).text();
  const timer = setTimeout(() => failed(new Error(`fazt not ready in time:\n${err}`)), opts.timeoutMs ?? 15_000);
  let port: number;
  try {
    port = await readyP;
  } catch (e) {
    proc.kill("SIGKILL");
    throw e;
  } finally {
    clearTimeout(timer);
  }
  const token = /(fzt_[a-z2-7]{12}_[A-Za-z0-9_-]{43})/.exec(err)?.[1] ?? null;
  const f: FaztProcess = {
    proc,
    port,
    url: `http://127.0.0.1:${port}`,
    token,
    dir,
    db,
    stderr: () => err,
    async stop(signal = "SIGTERM") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      const code = await proc.exited;
      running.delete(f);
      return code;
    },
  };
  running.add(f);
  return f;
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** fetch with a Host header (Bun's fetch honours an explicit Host). */
export function hostFetch(f: FaztProcess, host: string, path = "/", init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("host", host);
  return fetch(`${f.url}${path}`, { ...init, headers, redirect: "manual" });
}

export function api(f: FaztProcess, path: string, init: RequestInit & { json?: unknown; token?: string | null } = {}) {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? f.token : init.token;
  if (token) headers.set("authorization", `Bearer ${token}`);
  let body = init.body;
  if (init.json !== undefined) {
    headers.set("content-type", "application/json");
    body = JSON.stringify(init.json);
  }
  return fetch(`${f.url}${path}`, { ...init, headers, body });
}
