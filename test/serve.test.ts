// The serving engine against a real fazt process over HTTP: host routing,
// path resolution, _redirects, _headers, validators, ranges, encodings,
// content types, cache policy and hostile paths.
import { describe, expect, test, beforeAll, afterAll } from "bun:test";
import { join } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { startFazt, tempDir, cleanup, hostFetch, api, type FaztProcess } from "./helpers/fazt.ts";
import { waitFor } from "./helpers/wait.ts";
import { seedDeploy } from "./helpers/sites.ts";
import { makeTarGz } from "./helpers/archives.ts";

const dir = tempDir();
const db = join(dir, "fazt.db");
let f: FaztProcess;
let previewId: string;

const page = `<!doctype html><title>blog</title>${"<p>Hello, world of static sites.</p>\n".repeat(110)}`; // ~4 KB
const big = new Uint8Array(3 * 1024 * 1024 + 12345);
for (let i = 0; i < big.length; i++) big[i] = (i * 31 + (i >> 8)) & 255;
const png = new Uint8Array(3000).map((_, i) => (i * 7) & 255);

const REDIRECTS = `# redirects for the blog
/old            /about          301
/temp           /about          302
/see            /about          303
/tmp7           /about          307
/perm8          /about          308
/news/*         /blog/:splat
/posts/:year/:slug   /archive/:year-:slug  302
/search  q=:term  /find/:term   302
/lang    lang=fr  /fr/          302
/app/*          /docs/guide.html  200
/gone           /docs/404.html  404
/about          /elsewhere      301
/style.css      /about          302!
/external       https://example.com/landing  301
/twice          /first-rule     302
/twice          /second-rule    302
`;

const HEADERS = `/*
  X-Frame-Options: DENY
/assets/*
  X-Asset: yes
  Access-Control-Allow-Origin: *
/data.json
  Cache-Control: no-store
  X-Multi: a
/data.*
  X-Multi: b
`;

function get(host: string, path: string, headers: Record<string, string> = {}, init: RequestInit = {}) {
  return hostFetch(f, host, path, { headers, decompress: false, ...init } as RequestInit);
}
const blog = (path: string, headers?: Record<string, string>, init?: RequestInit) => get("blog.localhost", path, headers, init);

async function deploy(site: string, files: Record<string, string | Uint8Array>, query = ""): Promise<string> {
  const body = await makeTarGz(Object.entries(files).map(([name, data]) => ({ name: name.slice(1), data })));
  const r = await api(f, `/api/sites/${site}/deploys${query}`, { method: "POST", body });
  expect(r.status).toBe(201);
  return ((await r.json()) as { id: string }).id;
}

beforeAll(async () => {
  // Site settings have no API yet: this one is seeded in the database first.
  seedDeploy(db, "spa2", { "/index.html": "app shell" }, { settings: { spa: true } });
  f = await startFazt({ dir, db });
  for (const [name, domains] of [
    ["blog", ["custom.example.com"]],
    ["spa", []],
    ["empty", []],
  ] as const) {
    expect((await api(f, "/api/sites", { method: "POST", json: { name, domains } })).status).toBe(201);
  }
  await deploy("blog", {
    "/index.html": page,
    "/about.html": "<h1>about</h1>",
    "/docs/index.html": "<h1>docs</h1>",
    "/docs/guide.html": "<h1>guide</h1>",
    "/docs/404.html": "docs not found",
    "/404.html": "root not found",
    "/assets/app.3f2a1b4c9d.js": "console.log(1)",
    "/assets/index-BXa3k9Qz.css": "body{}",
    "/style.css": "body { color: red }",
    "/data.json": '{"a":1}',
    "/image.png": png,
    "/empty.txt": "",
    "/big.bin": big,
    "/hello world.html": "spaces",
    "/café.html": "accent",
    "/_redirects": REDIRECTS,
    "/_headers": HEADERS,
  });
  await deploy("spa", { "/index.html": "home", "/200.html": "spa shell" });
  previewId = await deploy("blog", { "/index.html": "preview!" }, "?activate=false");
});

afterAll(async () => {
  await f?.stop();
  cleanup(dir);
});

describe("host routing", () => {
  test("NAME.localhost, custom domains, any case, port or trailing dot", async () => {
    for (const host of ["blog.localhost", "BLOG.LocalHost:8080", "blog.localhost.", "custom.example.com", "Custom.Example.COM.:80"]) {
      const r = await get(host, "/");
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(page);
    }
  });

  test("unknown hosts and sites without a deploy get a plain 404 page", async () => {
    for (const host of ["nope.localhost", "example.org", "", "a--blog.localhost", "empty.localhost"]) {
      const r = await get(host, "/");
      expect(r.status).toBe(404);
      expect(r.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(await r.text()).toContain("404 Not Found");
    }
  });

  test("the admin host answers the API", async () => {
    const r = await get("localhost:1234", "/api/health");
    expect(r.status).toBe(200);
    expect(((await r.json()) as { ok: boolean }).ok).toBe(true);
  });

  test("DEPLOY--NAME previews a deploy that is not live", async () => {
    const r = await get(`${previewId}--blog.localhost`, "/");
    expect(await r.text()).toBe("preview!");
    expect(await (await blog("/")).text()).toBe(page);
  });

  test("the routing table follows domain changes without a restart", async () => {
    expect((await get("late.example.com", "/")).status).toBe(404);
    const add = await api(f, "/api/sites/blog/domains", { method: "POST", json: { domain: "late.example.com" } });
    expect(add.status).toBe(201);
    expect(await (await get("late.example.com", "/")).text()).toBe(page);
    await api(f, "/api/sites/blog/domains/late.example.com", { method: "DELETE" });
    expect((await get("late.example.com", "/")).status).toBe(404);
  });
});

describe("path resolution", () => {
  const cases: [string, number, string | null, string | null][] = [
    // path, status, body, location
    ["/", 200, page, null],
    ["/docs/", 200, "<h1>docs</h1>", null],
    ["/docs", 301, null, "/docs/"],
    ["/docs?x=1", 301, null, "/docs/?x=1"],
    ["/about", 200, "<h1>about</h1>", null],
    ["/about.html", 200, "<h1>about</h1>", null],
    ["/index.html", 200, page, null],
    ["/docs/index.html", 200, "<h1>docs</h1>", null],
    ["/docs/guide", 200, "<h1>guide</h1>", null],
    ["/docs/missing", 404, "docs not found", null],
    ["/docs/deep/er/missing", 404, "docs not found", null],
    ["/missing", 404, "root not found", null],
    ["/a/b/c.js", 404, "root not found", null],
    ["/hello%20world", 200, "spaces", null],
    ["/caf%C3%A9", 200, "accent", null],
    ["/_redirects", 404, "root not found", null],
    ["/_headers", 404, "root not found", null],
    ["/empty.txt", 200, "", null],
  ];
  for (const [path, status, body, location] of cases) {
    test(`${path} -> ${status}`, async () => {
      const r = await blog(path);
      expect(r.status).toBe(status);
      if (location !== null) expect(r.headers.get("location")).toBe(location);
      if (body !== null) expect(await r.text()).toBe(body);
    });
  }

  test("SPA fallback: 200.html, or the site setting, for extension-less paths", async () => {
    let r = await get("spa.localhost", "/some/client/route");
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("spa shell");
    expect(await (await get("spa.localhost", "/")).text()).toBe("home");
    expect((await get("spa.localhost", "/missing.js")).status).toBe(404);
    r = await get("spa2.localhost", "/deep/link");
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("app shell");
  });

  test("hostile paths are refused, never served", async () => {
    for (const path of [
      "/%E0%A4%A",
      "/a%2F..%2F..%2Fetc%2Fpasswd",
      "/a%00b",
      "/a%5C..%5Cb",
      "/%2e%2e%2f_redirects",
      "/docs/%2E%2E/_headers",
    ]) {
      const r = await blog(path);
      expect([400, 404]).toContain(r.status);
      const text = await r.text();
      expect(text).not.toContain("/about");
      expect(text).not.toContain("X-Frame");
    }
    expect((await blog("/a%2F..%2Fb")).status).toBe(400);
    expect((await blog("/x%00")).status).toBe(400);
  });

  test("only GET and HEAD", async () => {
    const r = await blog("/", {}, { method: "POST", body: "x" });
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("GET, HEAD");
  });
});

describe("_redirects", () => {
  const cases: [string, number, string][] = [
    ["/old", 301, "/about"],
    ["/temp", 302, "/about"],
    ["/see", 303, "/about"],
    ["/tmp7", 307, "/about"],
    ["/perm8", 308, "/about"],
    ["/old?ref=x", 301, "/about?ref=x"],
    ["/news", 301, "/blog/"],
    ["/news/2024/hello", 301, "/blog/2024/hello"],
    ["/posts/2024/my-post", 302, "/archive/2024-my-post"],
    ["/search?q=cats", 302, "/find/cats"],
    ["/search?q=a%20b", 302, "/find/a%20b"],
    ["/lang?lang=fr", 302, "/fr/"],
    ["/style.css", 302, "/about"],
    ["/external", 301, "https://example.com/landing"],
    ["/twice", 302, "/first-rule"],
  ];
  for (const [path, status, location] of cases) {
    test(`${path} -> ${status} ${location}`, async () => {
      const r = await blog(path);
      expect(r.status).toBe(status);
      expect(r.headers.get("location")).toBe(location);
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    });
  }

  test("query conditions must hold", async () => {
    expect((await blog("/search")).status).toBe(404);
    expect((await blog("/lang?lang=de")).status).toBe(404);
  });

  test("200 rewrites serve the target under the original URL", async () => {
    const r = await blog("/app/anything/here");
    expect(r.status).toBe(200);
    expect(await r.text()).toBe("<h1>guide</h1>");
  });

  test("404 with a custom page", async () => {
    const r = await blog("/gone");
    expect(r.status).toBe(404);
    expect(await r.text()).toBe("docs not found");
  });

  test("an existing file shadows an unforced rule; ! forces it", async () => {
    const about = await blog("/about");
    expect(about.status).toBe(200);
    expect((await blog("/style.css")).status).toBe(302);
  });
});

describe("_headers", () => {
  test("matching rules combine; several headers per rule; the same header joins", async () => {
    const r = await blog("/data.json");
    expect(r.headers.get("x-frame-options")).toBe("DENY");
    expect(r.headers.get("cache-control")).toBe("no-store");
    expect(r.headers.get("x-multi")).toBe("a, b");
    const js = await blog("/assets/app.3f2a1b4c9d.js");
    expect(js.headers.get("x-asset")).toBe("yes");
    expect(js.headers.get("access-control-allow-origin")).toBe("*");
    expect(js.headers.get("x-frame-options")).toBe("DENY");
    expect((await blog("/about")).headers.get("x-asset")).toBeNull();
  });

  test("they apply to 404 pages and 304s too", async () => {
    expect((await blog("/missing")).headers.get("x-frame-options")).toBe("DENY");
    const r = await blog("/data.json");
    const again = await blog("/data.json", { "if-none-match": r.headers.get("etag")! });
    expect(again.status).toBe(304);
    expect(again.headers.get("x-frame-options")).toBe("DENY");
  });
});

describe("HTTP semantics", () => {
  test("strong ETag and If-None-Match: exact, lists, *, weak", async () => {
    const r = await blog("/about");
    const etag = r.headers.get("etag")!;
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    for (const inm of [etag, `"nope", ${etag}`, "*", `W/${etag}`]) {
      const c = await blog("/about", { "if-none-match": inm });
      expect(c.status).toBe(304);
      expect(c.headers.get("etag")).toBe(etag);
      expect(await c.text()).toBe("");
    }
    expect((await blog("/about", { "if-none-match": '"other"' })).status).toBe(200);
  });

  test("Last-Modified and If-Modified-Since (ignored when If-None-Match is present)", async () => {
    const r = await blog("/about");
    const lm = r.headers.get("last-modified")!;
    expect(Number.isNaN(Date.parse(lm))).toBe(false);
    expect((await blog("/about", { "if-modified-since": lm })).status).toBe(304);
    expect((await blog("/about", { "if-modified-since": "Thu, 01 Jan 2015 00:00:00 GMT" })).status).toBe(200);
    expect((await blog("/about", { "if-modified-since": lm, "if-none-match": '"other"' })).status).toBe(200);
  });

  test("HEAD: the headers of GET, no body", async () => {
    for (const path of ["/", "/big.bin"]) {
      const r = await blog(path, {}, { method: "HEAD" });
      expect(r.status).toBe(200);
      expect(await r.text()).toBe("");
      expect(r.headers.get("etag")).toMatch(/^"/);
    }
    expect((await blog("/", {}, { method: "HEAD" })).headers.get("content-length")).toBe(String(page.length));
  });

  test("single ranges: 206, suffix, open end, clamping, 416", async () => {
    const cases: [string, number, string | null, string | null][] = [
      ["bytes=0-9", 206, page.slice(0, 10), `bytes 0-9/${page.length}`],
      ["bytes=-5", 206, page.slice(-5), `bytes ${page.length - 5}-${page.length - 1}/${page.length}`],
      [`bytes=${page.length - 3}-`, 206, page.slice(-3), `bytes ${page.length - 3}-${page.length - 1}/${page.length}`],
      [`bytes=10-99999999`, 206, page.slice(10), `bytes 10-${page.length - 1}/${page.length}`],
      [`bytes=${page.length}-`, 416, null, `bytes */${page.length}`],
      ["bytes=-0", 416, null, `bytes */${page.length}`],
      ["bytes=5-2", 200, page, null],
      ["bytes=0-1,4-5", 200, page, null],
      ["items=0-1", 200, page, null],
    ];
    for (const [range, status, body, contentRange] of cases) {
      const r = await blog("/", { range });
      expect(r.status).toBe(status);
      expect(r.headers.get("content-range")).toBe(contentRange);
      if (body !== null) expect(await r.text()).toBe(body);
    }
  });

  test("ranges of a big file cross chunk boundaries; If-Range", async () => {
    const from = 256 * 1024 - 10;
    const r = await blog("/big.bin", { range: `bytes=${from}-${from + 29}` });
    expect(r.status).toBe(206);
    expect(new Uint8Array(await r.arrayBuffer())).toEqual(big.subarray(from, from + 30));
    const etag = (await blog("/big.bin", {}, { method: "HEAD" })).headers.get("etag")!;
    expect((await blog("/big.bin", { range: "bytes=0-3", "if-range": etag })).status).toBe(206);
    const stale = await blog("/big.bin", { range: "bytes=0-3", "if-range": '"old"' });
    expect(stale.status).toBe(200);
    await stale.body?.cancel();
  });

  test("a big file streams whole and exact", async () => {
    const r = await blog("/big.bin");
    expect(r.status).toBe(200);
    const got = new Uint8Array(await r.arrayBuffer());
    expect(got.length).toBe(big.length);
    expect(Bun.hash(got)).toBe(Bun.hash(big));
  });

  test("Content-Type with charset for text, X-Content-Type-Options everywhere", async () => {
    const types: [string, string][] = [
      ["/", "text/html; charset=utf-8"],
      ["/style.css", ""],
      ["/assets/index-BXa3k9Qz.css", "text/css; charset=utf-8"],
      ["/assets/app.3f2a1b4c9d.js", "text/javascript; charset=utf-8"],
      ["/data.json", "application/json; charset=utf-8"],
      ["/image.png", "image/png"],
    ];
    for (const [path, type] of types) {
      const r = await blog(path);
      if (type) expect(r.headers.get("content-type")).toBe(type);
      expect(r.headers.get("x-content-type-options")).toBe("nosniff");
    }
    expect((await blog("/missing")).headers.get("x-content-type-options")).toBe("nosniff");
    expect((await get("nope.localhost", "/")).headers.get("x-content-type-options")).toBe("nosniff");
  });

  test("Cache-Control: HTML and unhashed files revalidate, fingerprinted assets are immutable", async () => {
    const revalidate = "public, max-age=0, must-revalidate";
    const immutable = "public, max-age=31536000, immutable";
    expect((await blog("/")).headers.get("cache-control")).toBe(revalidate);
    expect((await blog("/image.png")).headers.get("cache-control")).toBe(revalidate);
    expect((await blog("/assets/app.3f2a1b4c9d.js")).headers.get("cache-control")).toBe(immutable);
    expect((await blog("/assets/index-BXa3k9Qz.css")).headers.get("cache-control")).toBe(immutable);
  });
});

describe("precompressed variants", () => {
  async function waitForVariant(path: string): Promise<void> {
    const served = async () => {
      const r = await blog(path, { "accept-encoding": "br" });
      await r.arrayBuffer();
      return r.headers.get("content-encoding") === "br";
    };
    await waitFor(served, { what: `the br variant of ${path}`, timeoutMs: 15_000, everyMs: 50 });
  }

  test("br and gzip for compressible files, negotiated, with Vary and their own ETags", async () => {
    await waitForVariant("/");
    const br = await blog("/", { "accept-encoding": "gzip, deflate, br" });
    expect(br.headers.get("content-encoding")).toBe("br");
    expect(br.headers.get("vary")).toBe("Accept-Encoding");
    expect(br.headers.get("etag")).toMatch(/-br"$/);
    const brBytes = new Uint8Array(await br.arrayBuffer());
    expect(brBytes.length).toBeLessThan(page.length);
    expect(Number(br.headers.get("content-length"))).toBe(brBytes.length);
    expect(brotliDecompressSync(brBytes).toString()).toBe(page);

    for (const ae of ["gzip", "gzip, br;q=0", "br;q=0.5, gzip;q=1"]) {
      const gz = await blog("/", { "accept-encoding": ae });
      expect(gz.headers.get("content-encoding")).toBe("gzip");
      expect(gunzipSync(new Uint8Array(await gz.arrayBuffer())).toString()).toBe(page);
    }
    for (const ae of ["identity", "", "deflate", "gzip;q=0, br;q=0"]) {
      const id = await blog("/", ae ? { "accept-encoding": ae } : {});
      expect(id.headers.get("content-encoding")).toBeNull();
      expect(id.headers.get("vary")).toBe("Accept-Encoding");
      expect(await id.text()).toBe(page);
    }
    // Any representation's tag revalidates.
    const c = await blog("/", { "accept-encoding": "gzip", "if-none-match": br.headers.get("etag")! });
    expect(c.status).toBe(304);
    expect(c.headers.get("etag")).toMatch(/-gz"$/);
    // Ranges apply to the identity bytes.
    const ranged = await blog("/", { "accept-encoding": "br", range: "bytes=0-4" });
    expect(ranged.headers.get("content-encoding")).toBeNull();
    expect(await ranged.text()).toBe(page.slice(0, 5));
  });

  test("a 304 carries ETag, Cache-Control, Vary, nosniff and _headers, not Last-Modified or body headers", async () => {
    await waitForVariant("/");
    const r = await blog("/", { "accept-encoding": "identity" });
    await r.arrayBuffer();
    expect(r.headers.get("last-modified")).not.toBeNull();
    const validators: Record<string, string>[] = [
      { "if-none-match": r.headers.get("etag")! },
      { "if-modified-since": r.headers.get("last-modified")! },
    ];
    for (const validator of validators) {
      const c = await blog("/", { "accept-encoding": "identity", ...validator });
      expect(c.status).toBe(304);
      expect(c.headers.get("etag")).toBe(r.headers.get("etag"));
      expect(c.headers.get("cache-control")).toBe(r.headers.get("cache-control"));
      expect(c.headers.get("vary")).toBe("Accept-Encoding");
      expect(c.headers.get("x-content-type-options")).toBe("nosniff");
      expect(c.headers.get("x-frame-options")).toBe("DENY");
      // RFC 9110 15.4.5: the stored copy keeps its own Last-Modified; no representation metadata.
      for (const absent of ["last-modified", "content-type", "content-encoding", "accept-ranges"]) expect(c.headers.get(absent)).toBeNull();
      expect(await c.text()).toBe("");
    }
  });

  test("no variants for small or incompressible files", async () => {
    await waitForVariant("/");
    for (const path of ["/about", "/image.png"]) {
      const r = await blog(path, { "accept-encoding": "br, gzip" });
      expect(r.headers.get("content-encoding")).toBeNull();
      expect(r.headers.get("vary")).toBeNull();
    }
  });
});
