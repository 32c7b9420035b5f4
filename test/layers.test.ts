// The import graph of src/ follows the layers of docs/ARCHITECTURE.md: a folder
// imports only folders of lower layers, or of its own layer without a cycle.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ROOT } from "./helpers/fazt.ts";

/** Higher numbers may import lower ones. */
const LAYER: Record<string, number> = {
  cli: 6,
  server: 5,
  api: 4,
  tls: 4,
  analytics: 4,
  mail: 4,
  ui: 4,
  forms: 4,
  serve: 3,
  vfs: 3,
  sites: 3,
  auth: 3,
  core: 2,
  http: 2,
  db: 1,
  log: 1,
  metrics: 1,
};

const SRC = join(ROOT, "src");
const IMPORT_RE = /(?:^|\n)\s*(?:import|export)\b[^"'`]*?from\s+["'](\.{1,2}\/[^"']+)["']|import\(\s*["'](\.{1,2}\/[^"']+)["']\s*\)/g;

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** folder -> folder -> the files that make the edge. */
function folderEdges(): Map<string, Map<string, string[]>> {
  const edges = new Map<string, Map<string, string[]>>();
  for (const file of sourceFiles(SRC)) {
    const from = relative(SRC, file).split("/")[0]!;
    for (const m of readFileSync(file, "utf8").matchAll(IMPORT_RE)) {
      const target = relative(SRC, join(file, "..", m[1] ?? m[2]!)).split("/");
      if (target.length < 2 || target[0] === "..") continue; // a root file, or outside src (migrations, public)
      const to = target[0]!;
      if (to === from) continue;
      const out = edges.get(from) ?? new Map<string, string[]>();
      edges.set(from, out);
      out.set(to, [...(out.get(to) ?? []), relative(ROOT, file)]);
    }
  }
  return edges;
}

describe("layers", () => {
  const edges = folderEdges();

  test("every folder of src/ has a layer", () => {
    const folders = readdirSync(SRC, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.filter((f) => LAYER[f] === undefined)).toEqual([]);
  });

  test("no import points to a higher layer", () => {
    const upward: string[] = [];
    for (const [from, out] of edges) {
      for (const [to, files] of out) if (LAYER[to]! > LAYER[from]!) upward.push(`${from} -> ${to} (${files.join(", ")})`);
    }
    expect(upward).toEqual([]);
  });

  test("no cycle between folders", () => {
    const cycles: string[] = [];
    const reach = (start: string, at: string, seen: Set<string>, path: string[]): void => {
      for (const next of edges.get(at)?.keys() ?? []) {
        if (next === start) cycles.push([...path, next].join(" -> "));
        else if (!seen.has(next)) reach(start, next, seen.add(next), [...path, next]);
      }
    };
    for (const folder of edges.keys()) reach(folder, folder, new Set(), [folder]);
    expect(cycles).toEqual([]);
  });
});
