// `bun run build`: compile src/main.ts (with migrations/ and public/ embedded
// through imports) into the single executable dist/fazt for this machine. Worker
// threads are extra entry points (src/mail/sanitize-worker.ts, src/mail/send-worker.ts, src/mail/parse-worker.ts).
//
// `bun run build --release [--target linux-arm64 ...]`: cross-compile every release
// target into dist/fazt-VERSION-OS-ARCH.tar.gz (the binary fazt-VERSION-OS-ARCH and
// LICENSE) and write dist/SHA256SUMS. Bun takes each target's runtime from the npm
// registry (@oven/bun-OS-ARCH) and caches it under ~/.bun/install/cache.
//
// Version, commit, build time and GitHub repository are embedded as constants (src/core/version.ts).
// FAZT_COMMIT and SOURCE_DATE_EPOCH override the commit and the build time.
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import pkg from "./package.json" with { type: "json" };

/** Release name (OS-ARCH) -> Bun's --target. */
export const RELEASE_TARGETS: Record<string, string> = {
  "linux-x64": "bun-linux-x64",
  "linux-arm64": "bun-linux-arm64",
  "linux-x64-musl": "bun-linux-x64-musl",
  "linux-arm64-musl": "bun-linux-arm64-musl",
  "darwin-arm64": "bun-darwin-arm64",
  "darwin-x64": "bun-darwin-x64",
};

const DIST = "dist";

function run(cmd: string[]): string {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${p.stderr.toString().trim()}`);
  return p.stdout.toString().trim();
}

/** The short commit, "-dirty" when the work tree has uncommitted changes; "unknown" outside git. */
function gitCommit(): string {
  if (process.env.FAZT_COMMIT) return process.env.FAZT_COMMIT;
  try {
    const commit = run(["git", "rev-parse", "--short=12", "HEAD"]);
    return run(["git", "status", "--porcelain", "--untracked-files=no"]) === "" ? commit : `${commit}-dirty`;
  } catch {
    return "unknown";
  }
}

/** GitHub "owner/name": GITHUB_REPOSITORY in GitHub Actions, else the origin remote when it is on GitHub. */
function githubRepository(): string {
  if (process.env.GITHUB_REPOSITORY) return process.env.GITHUB_REPOSITORY;
  try {
    return /github\.com[:/]([^/]+\/[^/]+?)(\.git)?$/.exec(run(["git", "remote", "get-url", "origin"]))?.[1] ?? "";
  } catch {
    return "";
  }
}

function buildTime(): string {
  const epoch = Number(process.env.SOURCE_DATE_EPOCH);
  return (Number.isFinite(epoch) && epoch > 0 ? new Date(epoch * 1000) : new Date()).toISOString().replace(/\.\d+Z$/, "Z");
}

async function runAsync(cmd: string[]): Promise<void> {
  const p = Bun.spawn(cmd, { stdout: "ignore", stderr: "pipe" });
  const [code, err] = await Promise.all([p.exited, new Response(p.stderr).text()]);
  if (code !== 0) throw new Error(`${cmd.slice(0, 3).join(" ")} ... failed (exit ${code}): ${err.trim()}`);
}

function compileCommand(outfile: string, defines: Record<string, string>, target?: string): string[] {
  const cmd = ["bun", "build", "--compile", "--minify", "--bytecode", "--sourcemap=none"];
  if (target) cmd.push(`--target=${target}`);
  for (const [k, v] of Object.entries(defines)) cmd.push("--define", `${k}=${JSON.stringify(v)}`);
  return [
    ...cmd,
    "src/main.ts",
    "src/mail/sanitize-worker.ts",
    "src/mail/send-worker.ts",
    "src/mail/parse-worker.ts",
    "--outfile",
    outfile,
  ];
}

const MB = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

/** Compile one target and pack it; returns its SHA256SUMS line. */
async function releaseTarget(name: string, work: string, defines: Record<string, string>): Promise<string> {
  const t0 = performance.now();
  const base = `fazt-${pkg.version}-${name}`;
  await runAsync(compileCommand(join(work, base), defines, RELEASE_TARGETS[name]));
  const archive = `${base}.tar.gz`;
  // Numeric root ownership: the archive does not carry the builder's user name.
  const owner = ["--owner=0", "--group=0", "--numeric-owner"];
  await runAsync(["tar", "-czf", join(DIST, archive), ...owner, "-C", work, base, "-C", process.cwd(), "LICENSE"]);
  rmSync(join(work, base));
  console.log(`built ${join(DIST, archive)}: ${MB(statSync(join(DIST, archive)).size)} in ${seconds(t0)}`);
  return `${createHash("sha256")
    .update(readFileSync(join(DIST, archive)))
    .digest("hex")}  ${archive}`;
}

async function release(targets: string[], defines: Record<string, string>): Promise<void> {
  for (const f of readdirSync(DIST)) if (/^fazt-.*\.tar\.gz$/.test(f) || f === "SHA256SUMS") rmSync(join(DIST, f));
  const work = join(DIST, "release-work");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  // One target per core at a time: compiling and gzip are single-threaded each.
  const sums = new Map<string, string>();
  const queue = [...targets];
  const worker = async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) sums.set(name, await releaseTarget(name, work, defines));
  };
  try {
    await Promise.all(Array.from({ length: Math.min(availableParallelism(), targets.length) }, worker));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  // `sha256sum -c SHA256SUMS` format (two spaces: text mode), in target order.
  writeFileSync(join(DIST, "SHA256SUMS"), `${targets.map((t) => sums.get(t)).join("\n")}\n`);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { release: { type: "boolean" }, target: { type: "string", multiple: true } }, strict: true });
  const defines = { FAZT_VERSION: pkg.version, FAZT_COMMIT: gitCommit(), FAZT_BUILT_AT: buildTime(), FAZT_REPOSITORY: githubRepository() };
  mkdirSync(DIST, { recursive: true });
  const t0 = performance.now();
  if (values.release || values.target) {
    const targets = values.target ?? Object.keys(RELEASE_TARGETS);
    const unknown = targets.filter((t) => !(t in RELEASE_TARGETS));
    if (unknown.length) throw new Error(`unknown target ${unknown.join(", ")}; known: ${Object.keys(RELEASE_TARGETS).join(", ")}`);
    await release(targets, defines);
    console.log(`release ${pkg.version} (${defines.FAZT_COMMIT}): ${targets.length} archives and SHA256SUMS in ${seconds(t0)}`);
    return;
  }
  const outfile = process.env.FAZT_OUTFILE ?? join(DIST, "fazt");
  await runAsync(compileCommand(outfile, defines));
  console.log(`built ${outfile}: ${MB(statSync(outfile).size)} in ${seconds(t0)}`);
}

if (import.meta.main) await main();
