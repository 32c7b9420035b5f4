// `bun run build --release`, once for the whole file (about 30-45 s: six compiles
// and six gzips), then the archives as a user gets them: checksums, sizes, the
// Linux binaries actually run (arm64 under qemu-user, installed by .ci/run).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { api, cleanup, ROOT, runFazt, startFazt, tempDir } from "./helpers/fazt.ts";
import { RELEASE_TARGETS } from "../build.ts";

const VERSION: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version;
const DIST = join(ROOT, "dist");
const MiB = 1024 * 1024;
const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanup));

let commit = "";
beforeAll(() => {
  commit = Bun.spawnSync(["git", "rev-parse", "--short=12", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
  const r = Bun.spawnSync(["bun", "run", "build", "--release"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`release build failed:\n${r.stdout}\n${r.stderr}`);
  console.log(r.stdout.toString().trim());
}, 600_000);

const unpacked = new Map<string, { binary: string; listing: string[][] }>();
/** Unpack one target's archive (once) into a new folder: its binary's path and tar's verbose listing. */
function unpack(target: string): { binary: string; listing: string[][] } {
  if (unpacked.has(target)) return unpacked.get(target)!;
  const dir = tempDir("fazt-release-");
  dirs.push(dir);
  // -vv: GNU tar lists mode, owner and name of each member while it extracts (one pass over the archive).
  const r = Bun.spawnSync(["tar", "-xvvzf", join(DIST, `fazt-${VERSION}-${target}.tar.gz`), "-C", dir], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`tar: ${r.stderr}`);
  const listing = r.stdout
    .toString()
    .trim()
    .split("\n")
    .map((l) => l.split(/\s+/));
  unpacked.set(target, { binary: join(dir, `fazt-${VERSION}-${target}`), listing });
  return unpacked.get(target)!;
}

// Reading 300-600 MB of archives takes seconds, more on a busy machine.
const SLOW = 120_000;

test(
  "six archives and SHA256SUMS that sha256sum -c accepts; each archive under 60 MB",
  () => {
    const names = Object.keys(RELEASE_TARGETS).map((t) => `fazt-${VERSION}-${t}.tar.gz`);
    expect(Object.keys(RELEASE_TARGETS).sort()).toEqual([
      "darwin-arm64",
      "darwin-x64",
      "linux-arm64",
      "linux-arm64-musl",
      "linux-x64",
      "linux-x64-musl",
    ]);
    expect(
      readdirSync(DIST)
        .filter((f) => f.endsWith(".tar.gz"))
        .sort(),
    ).toEqual([...names].sort());
    const sums = readFileSync(join(DIST, "SHA256SUMS"), "utf8").trim().split("\n");
    expect(sums.map((l) => l.split("  ")[1]).sort()).toEqual([...names].sort());
    const check = Bun.spawnSync(["sha256sum", "-c", "SHA256SUMS"], { cwd: DIST, stdout: "pipe" });
    expect(check.exitCode).toBe(0);
    expect(check.stdout.toString().match(/: OK$/gm)).toHaveLength(6);
    for (const n of names) {
      const size = statSync(join(DIST, n)).size;
      console.log(`${n}: ${(size / 1e6).toFixed(1)} MB (${(size / MiB).toFixed(1)} MiB)`);
      expect(size).toBeLessThan(60e6); // 60 MB, decimal: the stricter reading
    }
  },
  SLOW,
);

test(
  "each archive holds its executable binary and LICENSE, owned by root",
  () => {
    for (const t of Object.keys(RELEASE_TARGETS)) {
      expect(unpack(t).listing.map((r) => [r[0], r[1], r.at(-1)])).toEqual([
        ["-rwxr-xr-x", "0/0", `fazt-${VERSION}-${t}`],
        ["-rw-r--r--", "0/0", "LICENSE"],
      ]);
    }
  },
  SLOW,
);

/** What the binary's header says it is: ELF or Mach-O, CPU, and the C library for ELF. */
function binaryKind(path: string): string {
  const head = readFileSync(path).subarray(0, 64 * 1024);
  const view = new DataView(head.buffer, head.byteOffset);
  if (head.subarray(0, 4).toString("latin1") === "\x7fELF") {
    const cpu = { 62: "x64", 183: "arm64" }[view.getUint16(18, true)] ?? "?";
    return `linux-${cpu}${head.includes("ld-musl-") ? "-musl" : ""}`;
  }
  if (view.getUint32(0, true) === 0xfeedfacf) return `darwin-${{ 16777223: "x64", 16777228: "arm64" }[view.getUint32(4, true)] ?? "?"}`;
  return "unknown";
}

test(
  "every binary is built for its target (ELF/Mach-O header, CPU, C library)",
  () => {
    for (const t of Object.keys(RELEASE_TARGETS)) expect(binaryKind(unpack(t).binary)).toBe(t);
  },
  SLOW,
);

test(
  "the linux-x64 binary from its archive prints its version and commit, and serves /api/health with them",
  async () => {
    const bin = unpack("linux-x64").binary;
    const r = await runFazt(["version"], { binary: bin });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      new RegExp(
        `^${VERSION.replaceAll(".", "\\.")} \\(commit ${commit}(-dirty)?, built \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ\\)\\n$`,
      ),
    );
    const f = await startFazt({ binary: bin });
    dirs.push(f.dir);
    try {
      const health = (await (await api(f, "/api/health", { token: null })).json()) as Record<string, unknown>;
      expect(health).toMatchObject({ ok: true, version: VERSION, commit: expect.stringMatching(new RegExp(`^${commit}`)) });
      expect(Date.parse(String(health.built_at))).toBeGreaterThan(Date.now() - 3600_000);
    } finally {
      await f.stop();
    }
  },
  SLOW,
);

test(
  "the linux-arm64 binary runs under qemu-aarch64-static and prints its version and commit",
  () => {
    const bin = unpack("linux-arm64").binary;
    const r = Bun.spawnSync(["qemu-aarch64-static", "-L", "/usr/aarch64-linux-gnu", bin, "version"], { stdout: "pipe", stderr: "pipe" });
    expect({ code: r.exitCode, err: r.stderr.toString() }).toEqual({ code: 0, err: "" });
    expect(r.stdout.toString()).toStartWith(`${VERSION} (commit ${commit}`);
  },
  SLOW,
);
