// What deciding fingerprinted files costs a deploy (it runs inside the deploy's
// write transaction): 50,000-file manifests, realistic and hostile, each
// judged against a previous deploy of the same size; best of N runs.
//   bun bench/fingerprints.ts [--runs 5]
import { parseArgs } from "node:util";
import { immutableFiles, type NewFile, type PreviousFile } from "../src/vfs/fingerprints.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "5" } } });
const runs = Number(values.runs);
const N = 50_000;
const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
const hash = () => Array.from({ length: 8 }, () => alphabet[Math.floor(Math.random() * 64)]).join("");

const shapes = [(i: number) => `/assets/chunk-${i}-${hash()}.js`, (i: number) => `/docs/page-${i}/index.html`];
shapes.push(
  (i) => `/img/photo-${i}.jpg`,
  (i) => `/assets/guide_${i}.md.${hash()}.lean.js`,
);
const realistic = (i: number) => shapes[i % 4]!(i);
// Longest names examined (255), full of the separators the parser tries.
const hostile = (i: number) => `/d${i % 50}/${"a-".repeat(100)}${i}.${"b.".repeat(20)}js`;

function manifest(path: (i: number) => string): { files: NewFile[]; previous: PreviousFile[] } {
  const files = Array.from({ length: N }, (_, i) => ({ path: path(i), blobId: i, mime: "text/javascript" }));
  const previous = files.map((f, i) => ({ path: i % 2 ? f.path : path(i + N), blobId: i, immutable: i % 3 === 0 }));
  return { files, previous };
}

console.log(`| manifest (${N.toLocaleString()} files) | best ms | us per file | immutable |`);
console.log("|---|--:|--:|--:|");
for (const [name, path] of [
  ["realistic", realistic],
  ["hostile names", hostile],
] as const) {
  const { files, previous } = manifest(path);
  let best = Infinity;
  let chosen = 0;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    chosen = immutableFiles(files, previous).size;
    best = Math.min(best, performance.now() - t);
  }
  console.log(`| ${name} | ${best.toFixed(0)} | ${((best * 1000) / N).toFixed(2)} | ${chosen.toLocaleString()} |`);
}
