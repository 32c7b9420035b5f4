// The real Litestream binary, from the npm package @flydotio/litestream (its
// per-platform optional dependency ships the executable; nothing is downloaded).
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { ROOT } from "./fazt.ts";
import { waitFor } from "./wait.ts";

export const LITESTREAM = join(ROOT, "node_modules", "@flydotio", `litestream-${process.platform}-${process.arch}`, "litestream");

export function assertLitestream(): void {
  if (!existsSync(LITESTREAM)) throw new Error(`${LITESTREAM} missing: run 'bun install' (package @flydotio/litestream)`);
}

export interface Replicator {
  proc: Subprocess<"ignore", "pipe", "pipe">;
  output(): string;
  stop(): Promise<void>;
}

/** Run `litestream replicate -config FILE` and resolve once it has written its first snapshot. */
export async function replicate(config: string, timeoutMs = 20_000): Promise<Replicator> {
  assertLitestream();
  const proc = Bun.spawn([LITESTREAM, "replicate", "-config", config], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  let out = "";
  const decoder = new TextDecoder();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const c of s) out += decoder.decode(c, { stream: true });
  };
  void pump(proc.stdout);
  void pump(proc.stderr);
  const r: Replicator = {
    proc,
    output: () => out,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      await proc.exited;
    },
  };
  const snapshotWritten = () => {
    if (proc.exitCode !== null) throw new Error(`litestream exited (${proc.exitCode}) before replicating:\n${out}`);
    return out.includes("snapshot written");
  };
  try {
    await waitFor(snapshotWritten, { what: () => `litestream's first snapshot:\n${out}`, timeoutMs, everyMs: 50 });
  } catch (e) {
    await r.stop();
    throw e;
  }
  return r;
}

/** `litestream restore -o OUT REPLICA_URL`: a database from the replica alone (no config, as on a new machine). */
export async function restore(replicaUrl: string, out: string): Promise<void> {
  assertLitestream();
  const p = Bun.spawn([LITESTREAM, "restore", "-o", out, replicaUrl], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [o, e, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`litestream restore failed (${code}):\n${o}${e}`);
}
