// `bun run build`: compile src/main.ts (with migrations/ and public/ embedded
// through imports) into the single executable dist/fazt for this machine.
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

function compile(outfile: string, defines: Record<string, string>, target?: string): void {
  const cmd = ["bun", "build", "--compile", "--minify", "--bytecode", "--sourcemap=none"];
  if (target) cmd.push(`--target=${target}`);
  for (const [k, v] of Object.entries(defines)) cmd.push("--define", `${k}=${JSON.stringify(v)}`);
  cmd.push("src/main.ts", "--outfile", outfile);
  const p = Bun.spawnSync(cmd, { stdout: "inherit", stderr: "inherit" });
  if (p.exitCode !== 0) process.exit(p.exitCode ?? 1);
}

const MB = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;
const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

function release(targets: string[], defines: Record<string, string>): void {
  for (const f of readdirSync(DIST)) if (/^fazt-.*\.tar\.gz$/.test(f) || f === "SHA256SUMS") rmSync(join(DIST, f));
  const work = join(DIST, "release-work");
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work);
  const sums: string[] = [];
  for (const name of targets) {
    const t0 = performance.now();
    const base = `fazt-${pkg.version}-${name}`;
    compile(join(work, base), defines, RELEASE_TARGETS[name]);
    const archive = `${base}.tar.gz`;
    // Numeric root ownership: the archive does not carry the builder's user name.
    run(["tar", "-czf", join(DIST, archive), "--owner=0", "--group=0", "--numeric-owner", "-C", work, base, "-C", process.cwd(), "LICENSE"]);
    rmSync(join(work, base));
    sums.push(`${createHash("sha256").update(readFileSync(join(DIST, archive))).digest("hex")}  ${archive}`);
    console.log(`built ${join(DIST, archive)}: ${MB(statSync(join(DIST, archive)).size)} in ${seconds(t0)}`);
  }
  rmSync(work, { recursive: true, force: true });
  // `sha256sum -c SHA256SUMS` format (two spaces: text mode).
  writeFileSync(join(DIST, "SHA256SUMS"), sums.join("\n") + "\n");
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
    release(targets, defines);
    console.log(`release ${pkg.version} (${defines.FAZT_COMMIT}): ${targets.length} archives and SHA256SUMS in ${seconds(t0)}`);
    return;
  }
  const outfile = process.env.FAZT_OUTFILE ?? join(DIST, "fazt");
  compile(outfile, defines);
  console.log(`built ${outfile}: ${MB(statSync(outfile).size)} in ${seconds(t0)}`);
}

if (import.meta.main) await main();
