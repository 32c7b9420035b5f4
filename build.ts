// `bun run build`: compile src/main.ts (with migrations/ and public/ embedded
// through imports) into the single executable dist/fazt. Worker threads are
// extra entry points (src/mail/sanitize-worker.ts).
import { statSync, mkdirSync } from "node:fs";

const outfile = process.env.FAZT_OUTFILE ?? "dist/fazt";
mkdirSync("dist", { recursive: true });
const t0 = performance.now();
const proc = Bun.spawnSync(
  ["bun", "build", "--compile", "--minify", "--bytecode", "--sourcemap=none", "src/main.ts", "src/mail/sanitize-worker.ts", "--outfile", outfile],
  { stdout: "inherit", stderr: "inherit" },
);
if (proc.exitCode !== 0) process.exit(proc.exitCode ?? 1);
const mb = statSync(outfile).size / 1024 / 1024;
console.log(`built ${outfile}: ${mb.toFixed(1)} MB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
