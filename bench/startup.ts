// CLI start-up: wall time and CPU time (user + system; steadier than wall time on a
// busy machine) of short commands of the compiled binary, each a new process, against
// the floor (a compiled Bun program that prints one line). The first run after the
// build is reported apart (page cache cold for the binary).
//
//   bun bench/startup.ts [--runs 20] [--no-build] [--other PATH]
//
// --other PATH adds the same commands of another fazt binary (an older build) as rows.
//
// Goal (issue #14): `fazt version` and `fazt --help` under 20 ms (median).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { BINARY, ROOT } from "../test/helpers/fazt.ts";

const { values } = parseArgs({
  options: { runs: { type: "string", default: "20" }, "no-build": { type: "boolean" }, other: { type: "string" } },
});
const RUNS = Number(values.runs);

function spawnOk(cmd: string[], cwd = ROOT): number {
  const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")}: exit ${p.exitCode}\n${p.stderr}`);
  return Number(p.resourceUsage.cpuTime.total) / 1000;
}

/** Wall and CPU milliseconds of one run. */
function timeOnce(cmd: string[]): { wall: number; cpu: number } {
  const t0 = performance.now();
  const cpu = spawnOk(cmd);
  return { wall: performance.now() - t0, cpu };
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
  if (values.other) cases.push(["other: version", [values.other, "version"]], ["other: --help", [values.other, "--help"]]);
  const rows: { name: string; first: number; wall: number; cpu: number }[] = [];
  for (const [name, cmd] of cases) {
    const first = timeOnce(cmd).wall;
    const runs = Array.from({ length: RUNS }, () => timeOnce(cmd));
    rows.push({ name, first, wall: median(runs.map((r) => r.wall)), cpu: median(runs.map((r) => r.cpu)) });
  }
  const base = rows[0]!;
  console.log(`| command | first run ms | median wall ms (${RUNS} runs) | x floor | median CPU ms | x floor |`);
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of rows) {
    const cells = [r.first, r.wall, r.wall / base.wall, r.cpu, r.cpu / base.cpu].map((n) => n.toFixed(n < 10 && n !== r.first ? 2 : 1));
    console.log(`| ${r.name} | ${cells.join(" | ")} |`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
