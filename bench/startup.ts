// CLI start-up: wall time of short commands of the compiled binary, each a new
// process, against the floor (a compiled Bun program that prints one line).
// The first run after the build is reported apart (page cache cold for the binary).
//
//   bun bench/startup.ts [--runs 20] [--no-build]
//
// Goal (issue #14): `fazt version` and `fazt --help` under 20 ms (median).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BINARY, ROOT } from "../test/helpers/fazt.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "20" }, "no-build": { type: "boolean" } } });
const RUNS = Number(values.runs);

function spawnOk(cmd: string[], cwd = ROOT): void {
  const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")}: exit ${p.exitCode}\n${p.stderr}`);
}

function timeOnce(cmd: string[]): number {
  const t0 = performance.now();
  spawnOk(cmd);
  return performance.now() - t0;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

if (!values["no-build"]) spawnOk([process.execPath, "build.ts"]);
const dir = mkdtempSync(join(tmpdir(), "fazt-startup-"));
try {
  const floor = join(dir, "floor");
  writeFileSync(join(dir, "floor.ts"), 'process.stdout.write("0.0.0\\n");\n');
  spawnOk(["bun", "build", "--compile", "--minify", "--bytecode", join(dir, "floor.ts"), "--outfile", floor]);
  const cases: [string, string[]][] = [
    ["floor (compiled hello)", [floor]],
    ["fazt version", [BINARY, "version"]],
    ["fazt --help", [BINARY, "--help"]],
    ["fazt serve --help", [BINARY, "serve", "--help"]],
    ["fazt doctor --help", [BINARY, "doctor", "--help"]],
  ];
  const rows: { name: string; first: number; median: number }[] = [];
  for (const [name, cmd] of cases) {
    const first = timeOnce(cmd);
    const times = Array.from({ length: RUNS }, () => timeOnce(cmd));
    rows.push({ name, first, median: median(times) });
  }
  const base = rows[0]!.median;
  console.log(`| command | first run ms | median of ${RUNS} ms | x floor |`);
  console.log("|---|---:|---:|---:|");
  for (const r of rows) console.log(`| ${r.name} | ${r.first.toFixed(1)} | ${r.median.toFixed(1)} | ${(r.median / base).toFixed(2)} |`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
