// Which files a deploy serves as immutable: tables of names in the shapes the
// default builds of common generators write, with the expected answer; the
// evidence rules one by one; the cost of a hostile manifest.
// Real Vite and VitePress builds through a real server: test/builds.test.ts.
import { describe, expect, test } from "bun:test";
import mime from "mime";
import { fingerprintEvidence, immutableFiles, isWordLike, type NewFile, type PreviousFile } from "../src/vfs/fingerprints.ts";

const sha256 = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");
const md5 = (s: string) => new Bun.CryptoHasher("md5").update(s).digest("hex");

/** A manifest from paths: each its own content unless `blobs` says otherwise. */
function manifest(paths: readonly string[], blobs: Record<string, number> = {}): NewFile[] {
  return paths.map((path, i) => ({ path, blobId: blobs[path] ?? 1000 + i, mime: mime.getType(path) ?? "application/octet-stream" }));
}

/** The decision for every path of a build's output: [path, immutable?]. */
function decide(table: readonly (readonly [string, boolean])[], previous: PreviousFile[] = []): [string, boolean][] {
  const chosen = immutableFiles(manifest(table.map(([p]) => p)), previous);
  return table.map(([p]) => [p, chosen.has(p)]);
}

// Each table is one build's output, as its generator writes it by default.
const builds: Record<string, readonly (readonly [string, boolean])[]> = {
  vite: [
    ["/index.html", false],
    ["/favicon.ico", false],
    ["/vite.svg", false],
    ["/fonts/Inter-SemiBold.woff2", false], // public/ copied as is
    ["/assets/index-DbBObRe-.js", true],
    ["/assets/index-BXa3k9Qz.css", true],
    ["/assets/icon-DmKvMAsX.svg", true], // no digit
    ["/assets/Inter-SemiBold-BiU5E-31.woff2", true],
    ["/assets/lazy-AGP-0Grr.js", true],
    ["/assets/vue.runtime.esm-bundler-CnGaWJif.js", true],
    ["/assets/index-DbBObRe-.js.map", true],
  ],
  vitepress: [
    ["/index.html", false],
    ["/guide/index.html", false],
    ["/404.html", false],
    ["/hashmap.json", false],
    ["/vp-icons.css", false],
    ["/robots.txt", false],
    ["/assets/app.NjibNRMv.js", true],
    ["/assets/style.CtolC_u1.css", true],
    ["/assets/guide_index.md.CnGaWJif.js", true],
    ["/assets/guide_index.md.CnGaWJif.lean.js", true],
    ["/assets/index.md.C4qKLaeC.js", true],
    ["/assets/index.md.C4qKLaeC.lean.js", true],
    ["/assets/inter-roman-greek-ext.CqjqNYQ-.woff2", true],
    ["/assets/inter-roman-latin.Di8DUHzh.woff2", true],
    ["/assets/inter-italic-latin-ext.CN1xVJS-.woff2", true],
    ["/assets/chunks/framework.DRhEAzAp.js", true],
    ["/assets/chunks/theme.DBwA-Ozf.js", true],
  ],
  astro: [
    ["/index.html", false],
    ["/blog/first-post/index.html", false],
    ["/favicon.svg", false],
    ["/rss.xml", false],
    ["/sitemap-index.xml", false],
    ["/fonts/atkinson-regular.woff", false],
    ["/fonts/atkinson-bold.woff", false],
    ["/_astro/index.BxC9dE2f.css", true],
    ["/_astro/about.DmKvMAsX.css", true],
    ["/_astro/ClientRouter.astro_astro_type_script_index_0_lang.CqjqNYQ-.js", true],
    ["/_astro/blog-placeholder-1.Bx0BqwbZ_Z1mqVdA.webp", true],
    ["/_astro/page.BbJwoYwE.js", true],
  ],
  sveltekit: [
    ["/index.html", false],
    ["/about.html", false],
    ["/favicon.png", false],
    ["/robots.txt", false],
    ["/_app/version.json", false],
    ["/_app/env.js", false],
    ["/_app/immutable/entry/start.BxC9dE2f.js", true],
    ["/_app/immutable/entry/app.DmKvMAsX.js", true],
    ["/_app/immutable/nodes/0.CqjqNYQ-.js", true],
    ["/_app/immutable/nodes/1.Dk3jE8fa.js", true],
    ["/_app/immutable/chunks/index.R8ovVqwX.js", true],
    ["/_app/immutable/assets/0.Cf3x9Lq2.css", true],
    ["/_app/immutable/assets/fira-mono-latin-400-normal.B2mvLtSD.woff2", true],
  ],
  next: [
    ["/index.html", false],
    ["/index.txt", false], // the RSC payload: same name, new content each build
    ["/404.html", false],
    ["/favicon.ico", false],
    ["/next.svg", false],
    ["/file.svg", false],
    ["/_next/static/chunks/framework-2c79e2a64abdb08b.js", true],
    ["/_next/static/chunks/main-app-6c3e0a9f1e2d4b5a.js", true],
    ["/_next/static/chunks/app/page-9a8b7c6d5e4f3a2b.js", true],
    ["/_next/static/chunks/webpack-59c5c889f52620d6.js", true],
    ["/_next/static/chunks/pages/_app-ab12cd34ef56ab78.js", true],
    ["/_next/static/css/0f8e2e1d3c4b5a69.css", true],
    ["/_next/static/media/569ce4b8f30dc480-s.p.woff2", true],
    ["/_next/static/Xq3lN8aBcdEf9GhIjKl0m/_buildManifest.js", true],
    ["/_next/static/Xq3lN8aBcdEf9GhIjKl0m/_ssgManifest.js", true],
  ],
  nuxt: [
    ["/index.html", false],
    ["/200.html", false],
    ["/404.html", false],
    ["/favicon.ico", false],
    ["/robots.txt", false],
    ["/_payload.json", false],
    ["/_nuxt/builds/latest.json", false], // rewritten in place by each build
    ["/_nuxt/builds/meta/5a1f3c2e-6b7d-4e8f-9a0b-1c2d3e4f5a6b.json", true], // named by its build, never rewritten (Nuxt says immutable too)
    ["/_nuxt/BfG7x_aK.js", true],
    ["/_nuxt/CkD9x3_B.js", true],
    ["/_nuxt/DmKvMAsX.js", true],
    ["/_nuxt/entry.Dk3jE8fa.css", true],
    ["/_nuxt/error-404.BxC9dE2f.css", true],
  ],
  hugo: [
    ["/index.html", false],
    ["/posts/hello/index.html", false],
    ["/index.xml", false],
    ["/sitemap.xml", false],
    ["/favicon.ico", false],
    ["/css/custom.css", false],
    ["/images/logo.png", false],
    [`/css/main.min.${sha256("main")}.css`, true],
    [`/js/main.${sha256("js")}.js`, true],
    [`/css/print.${md5("print")}.css`, true], // fingerprint "md5"
  ],
  eleventy: [
    ["/index.html", false],
    ["/blog/firstpost/index.html", false],
    ["/feed/feed.xml", false],
    ["/sitemap.xml", false],
    ["/favicon.ico", false],
    ["/css/index.css", false],
    ["/css/prism-diff.css", false],
    ["/img/possum.png", false], // passthrough copy
    ["/img/ZgIXNx9bGU-1280.avif", true], // eleventy-img: HASH-WIDTH.format
    ["/img/ZgIXNx9bGU-1280.webp", true],
    ["/img/ZgIXNx9bGU-1280.jpeg", true],
    ["/img/aB3-dE_fGh-600.webp", true],
    ["/img/aB3-dE_fGh-600.jpeg", true],
    ["/bundle/aZ3xQ9_kLm.css", true], // eleventy-plugin-bundle: HASH.ext
    ["/bundle/QwErTyUiOp.js", true],
  ],
};

describe("default builds of common generators", () => {
  for (const [name, table] of Object.entries(builds)) {
    test(`${name}: hashed assets immutable, nothing else`, () => {
      expect(decide(table)).toEqual(table.map(([p, yes]) => [p, yes]));
    });
  }

  test("names people choose stay revalidated, even among a build's hashed assets", () => {
    const mine = ["Inter-SemiBold.woff2", "logo.svg", "favicon.ico", "MyComponent.js"];
    mine.push("README-FIRST.txt", "photo-Mountain.jpg", "bg-gradient.png");
    // public/assets/ files land among Vite's hashed ones (and when they are most of them, only digit-bearing hashes count)
    const table: [string, boolean][] = [
      ...builds.vite!.filter(([p]) => p.startsWith("/assets/")).map(([p, yes]): [string, boolean] => [p, yes]),
      ...mine.slice(0, 4).map((n): [string, boolean] => [`/assets/${n}`, false]),
      ...mine.map((n): [string, boolean] => [`/${n}`, false]),
      ...mine.map((n): [string, boolean] => [`/static/${n}`, false]),
    ];
    expect(decide(table)).toEqual(table);
  });

  test("HTML is never immutable, wherever it is and however it is named", () => {
    expect(
      decide([
        ["/_astro/page.BbJwoYwE.html", false],
        ["/app.3f2a1b4c9d.html", false],
      ]),
    ).toEqual([
      ["/_astro/page.BbJwoYwE.html", false],
      ["/app.3f2a1b4c9d.html", false],
    ]);
  });
});

describe("evidence", () => {
  const evidence = (files: NewFile[], previous: PreviousFile[] = []) => Object.fromEntries(fingerprintEvidence(files, previous));
  const previousOf = (files: NewFile[], immutable: Set<string>): PreviousFile[] =>
    files.map((f) => ({ path: f.path, blobId: f.blobId, immutable: immutable.has(f.path) }));

  test("one name decides alone only when its hash part is unmistakable (digits and letters)", () => {
    const files = manifest(["/app.3f2a1b4c9d.js", "/index-BXa3k9Qz.css", "/icon-DmKvMAsX.svg", "/a.js", "/b.js"]);
    expect(evidence(files)).toEqual({
      "/app.3f2a1b4c9d.js": ["name"],
      "/index-BXa3k9Qz.css": ["name"],
      "/icon-DmKvMAsX.svg": [],
      "/a.js": [],
      "/b.js": [],
    });
  });

  test("a directory where most names share one name-HASH shape lifts the hash parts without digits", () => {
    const files = manifest(["/assets/icon-DmKvMAsX.svg", "/assets/index-CqjqNYQ-.js", "/assets/Inter-SemiBold.woff2"]);
    expect(evidence(files)).toEqual({
      "/assets/icon-DmKvMAsX.svg": ["shape"],
      "/assets/index-CqjqNYQ-.js": ["shape"],
      "/assets/Inter-SemiBold.woff2": [],
    });
    // one of three is not "most"
    const mixed = manifest(["/static/icon-DmKvMAsX.svg", "/static/a.js", "/static/b.js"]);
    expect(evidence(mixed)["/static/icon-DmKvMAsX.svg"]).toEqual([]);
  });

  test("a hash part that changed since the live deploy (same base, all new hash) is evidence", () => {
    const first = manifest(["/static/photo-DmKvMAsX.js", "/static/a.js", "/static/b.js"], { "/static/a.js": 1, "/static/b.js": 2 });
    const firstImmutable = immutableFiles(first, []);
    expect([...firstImmutable]).toEqual([]);
    const second = manifest(["/static/photo-CnGaWJif.js", "/static/a.js", "/static/b.js"], { "/static/a.js": 1, "/static/b.js": 2 });
    expect(evidence(second, previousOf(first, firstImmutable))).toEqual({
      "/static/photo-CnGaWJif.js": ["changed"],
      "/static/a.js": [],
      "/static/b.js": [],
    });
  });

  test("an edited or replaced word is not a changed hash", () => {
    const pairs = [
      ["/fonts/Inter-Semibold.woff2", "/fonts/Inter-SemiBold.woff2"], // same letters, one case
      ["/img/photo-Sunset01.jpg", "/img/photo-Mountain.jpg"], // the old one was a word too
      ["/img/photo-DmKvMAsX.jpg", "/img/photo-DmKvMAsY.jpg"], // one letter differs: no new content hash looks like that
    ];
    for (const [before, after] of pairs) {
      const previous = [{ path: before!, blobId: 1, immutable: false }];
      expect(evidence(manifest([after!]), previous)).toEqual({ [after!]: [] });
    }
  });

  test("a file whose content changed under the same name is never immutable, not even in a build's immutable folder", () => {
    const previous = [
      { path: "/_astro/page.BbJwoYwE.js", blobId: 1, immutable: true },
      { path: "/app.3f2a1b4c9d.js", blobId: 2, immutable: true },
    ];
    const files = manifest(["/_astro/page.BbJwoYwE.js", "/app.3f2a1b4c9d.js"], { "/_astro/page.BbJwoYwE.js": 7, "/app.3f2a1b4c9d.js": 8 });
    expect(evidence(files, previous)).toEqual({ "/_astro/page.BbJwoYwE.js": [], "/app.3f2a1b4c9d.js": [] });
  });

  test("an unchanged file keeps its decision when the evidence that made it is gone", () => {
    const previous = [{ path: "/static/photo-CnGaWJif.js", blobId: 5, immutable: true }];
    expect(evidence(manifest(["/static/photo-CnGaWJif.js", "/static/a.js"], { "/static/photo-CnGaWJif.js": 5 }), previous)).toEqual({
      "/static/photo-CnGaWJif.js": ["kept"],
      "/static/a.js": [],
    });
  });

  test("random 8-character base64url hashes in a build's assets folder: at least 98% are found on a first deploy", () => {
    // Rollup and Rolldown hashes; the rest (word-like by chance, ~0.8%) are found by the next deploy's change evidence.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
    let seed = 42; // mulberry32: repeatable
    const next = () => {
      let t = (seed = (seed + 0x6d2b79f5) | 0);
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return (t ^ (t >>> 14)) >>> 0;
    };
    const hash = () => Array.from({ length: 8 }, () => alphabet[next() % 64]).join("");
    let found = 0;
    const n = 5000;
    for (let i = 0; i < n; i++) {
      const files = manifest([`/assets/index-${hash()}.js`, `/assets/index-${hash()}.css`, `/assets/icon-${hash()}.svg`]);
      if (immutableFiles(files, []).has(files[0]!.path)) found++;
    }
    expect(found / n).toBeGreaterThan(0.98);
  });

  test("word-like names", () => {
    const words = ["SemiBold", "MyComponent", "README", "Markdown", "Sunset01", "20240101", "inter-roman-greek-ext"];
    words.push("SVGIcon", "background");
    for (const w of words) {
      expect([w, isWordLike(w)]).toEqual([w, true]);
    }
    for (const h of ["DmKvMAsX", "CnGaWJif", "CqjqNYQ-", "DbBObRe-", "NjibNRMv", "kviDryOg", "2c79e2a64abdb08b"]) {
      expect([h, isWordLike(h)]).toEqual([h, false]);
    }
  });
});

describe("hostile manifests", () => {
  test("names at the length limit full of dashes and dots: bounded work, no hash found in noise", () => {
    const noise = (i: number) => `/d${i % 50}/${`a-`.repeat(120)}${i}.${"b.".repeat(60)}js`;
    const files = manifest(Array.from({ length: 20_000 }, (_, i) => noise(i)));
    const previous = files.map((f) => ({ path: f.path.replace("a-a", "a-b"), blobId: f.blobId + 1, immutable: false }));
    const chosen = immutableFiles(files, previous);
    expect(chosen.size).toBe(0);
  });
});
