// Real builds, made here with the real tools from npm (Vite, VitePress; see
// test/helpers/builds.ts), deployed to a real fazt with `fazt deploy DIR` and
// fetched over HTTP: every hashed asset is served immutable, nothing else is;
// a rebuild after one changed source renames only what it should, and the
// redeploy keeps the answers right, by the previous deploy's evidence too.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import mime from "mime";
import { cleanup, hostFetch, runFazt, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";
import { builderModules, outputFiles, runBuilder, viteProject, vitepressProject, writeFiles } from "./helpers/builds.ts";
import { fingerprintEvidence, type NewFile } from "../src/vfs/fingerprints.ts";

const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "public, max-age=0, must-revalidate";

let f: FaztProcess;
let modules: string;
const work = tempDir("fazt-builds-");
const timings: string[] = [];

beforeAll(async () => {
  modules = builderModules();
  f = await startFazt();
});

afterAll(async () => {
  await f?.stop();
  if (f) cleanup(f.dir);
  cleanup(work);
  if (timings.length) console.error(`build times: ${timings.join(", ")}`);
});

const fazt = (args: string[]) => runFazt(args, { env: { FAZT_SERVER: f.url, FAZT_TOKEN: f.token! } });

async function deploy(site: string, dir: string): Promise<void> {
  const r = await fazt(["deploy", dir, "--site", site]);
  expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: expect.any(String) });
}

/** Each path with the Cache-Control fazt sends for it (after checking it serves the built bytes). */
async function cacheControls(site: string, dir: string, paths: string[]): Promise<[string, string | null][]> {
  const out: [string, string | null][] = [];
  for (const p of paths) {
    const r = await hostFetch(f, `${site}.localhost`, p);
    const body = new Uint8Array(await r.arrayBuffer());
    expect([p, r.status, Buffer.compare(body, readFileSync(join(dir, p)))]).toEqual([p, 200, 0]);
    out.push([p, r.headers.get("cache-control")]);
  }
  return out;
}

/** The build's own truth: what it emitted under assets/ is hashed; index pages, public/ copies and the rest are not. */
function expected(paths: string[]): [string, string][] {
  return paths.map((p) => [p, p.startsWith("/assets/") ? IMMUTABLE : REVALIDATE]);
}

/** The manifest the server judged, with content identities from the built bytes. */
function manifestOf(dir: string, paths: string[]): NewFile[] {
  const ids = new Map<string, number>();
  return paths.map((path) => {
    const hash = new Bun.CryptoHasher("sha256").update(readFileSync(join(dir, path))).digest("hex");
    if (!ids.has(hash)) ids.set(hash, ids.size + 1);
    return { path, blobId: ids.get(hash)!, mime: mime.getType(path) ?? "application/octet-stream" };
  });
}

/** Hash parts replaced by `*`: what stays when a file's content (and so its hash) changes. */
const unhashed = (paths: string[]) => paths.map((p) => p.replace(/([.-])[A-Za-z0-9_-]{8}(\.(lean\.)?[a-z0-9]+)$/, "$1*$2")).sort();

async function buildTwice(opts: {
  site: string;
  project: (version: number) => Record<string, string | Uint8Array>;
  script: string;
  args: string[];
  out: string;
  /** What must be in the first build's output, so the test checks what it claims. */
  emitted: RegExp[];
  /** The files renamed by the second build, hash parts as `*`. */
  renamed: string[];
}) {
  const project = join(work, opts.site);
  const dist = join(project, opts.out);
  writeFiles(project, opts.project(1));
  timings.push(`${opts.site} ${((await runBuilder(modules, project, opts.script, opts.args)) / 1000).toFixed(1)} s`);
  const first = outputFiles(dist);
  for (const re of opts.emitted) expect([re.source, first.some((p) => re.test(p))]).toEqual([re.source, true]);
  expect((await fazt(["site", "add", opts.site])).code).toBe(0);
  await deploy(opts.site, dist);
  const firstAnswers = await cacheControls(opts.site, dist, first);
  expect(firstAnswers).toEqual(expected(first));
  const firstManifest = manifestOf(dist, first);

  writeFiles(project, opts.project(2));
  rmSync(dist, { recursive: true });
  timings.push(`${opts.site} again ${((await runBuilder(modules, project, opts.script, opts.args)) / 1000).toFixed(1)} s`);
  const second = outputFiles(dist);
  const gone = first.filter((p) => !second.includes(p));
  const added = second.filter((p) => !first.includes(p));
  expect(unhashed(gone)).toEqual(opts.renamed);
  expect(unhashed(added)).toEqual(opts.renamed);
  await deploy(opts.site, dist);
  expect(await cacheControls(opts.site, dist, second)).toEqual(expected(second));

  // The evidence behind the second deploy's answers: renamed files by their changed hash,
  // unchanged hashed files by the first deploy's decision.
  const previous = firstManifest.map((file) => ({
    ...file,
    immutable: firstAnswers.some(([p, cc]) => p === file.path && cc === IMMUTABLE),
  }));
  const evidence = fingerprintEvidence(manifestOf(dist, second), previous);
  for (const p of added) expect([p, evidence.get(p)]).toEqual([p, expect.arrayContaining(["changed"])]);
  for (const p of second.filter((p) => p.startsWith("/assets/") && !added.includes(p))) {
    expect([p, evidence.get(p)]).toEqual([p, expect.arrayContaining(["kept"])]);
  }
}

describe("real builds served by fazt", () => {
  test("Vite: hashed assets immutable, index.html and public/ files revalidate; a changed module renames only itself and its importer", async () => {
    await buildTwice({
      site: "vite",
      project: viteProject,
      script: "vite/bin/vite.js",
      args: ["build"],
      out: "dist",
      emitted: [
        /^\/assets\/index-[\w-]{8}\.js$/,
        /^\/assets\/index-[\w-]{8}\.css$/,
        /^\/assets\/icon-[\w-]{8}\.svg$/,
        /^\/assets\/Inter-SemiBold-[\w-]{8}\.woff2$/,
        /^\/assets\/lazy-[\w-]{8}\.js$/,
        /^\/fonts\/Inter-SemiBold\.woff2$/,
        /^\/favicon\.ico$/,
      ],
      renamed: ["/assets/index-*.js", "/assets/lazy-*.js"],
    });
  }, 240_000);

  test("VitePress: theme, page chunks and fonts immutable; pages, hashmap.json, vp-icons.css and public/ files revalidate; an edited page renames only its chunks", async () => {
    await buildTwice({
      site: "vitepress",
      project: vitepressProject,
      script: "vitepress/bin/vitepress.js",
      args: ["build", "docs"],
      out: "docs/.vitepress/dist",
      emitted: [
        /^\/assets\/app\.[\w-]{8}\.js$/,
        /^\/assets\/chunks\/framework\.[\w-]{8}\.js$/,
        /^\/assets\/guide_setup\.md\.[\w-]{8}\.lean\.js$/,
        /^\/assets\/inter-roman-latin\.[\w-]{8}\.woff2$/,
        /^\/assets\/style\.[\w-]{8}\.css$/,
        /^\/guide\/setup\.html$/,
        /^\/hashmap\.json$/,
        /^\/favicon\.ico$/,
      ],
      renamed: ["/assets/guide_setup.md.*.js", "/assets/guide_setup.md.*.lean.js"],
    });
  }, 240_000);
});
