// Serving while things change: deploys and rollbacks invalidate what the
// server remembers; --domain routing; the 50 MB download by ten clients.
import { describe, expect, test, afterAll } from "bun:test";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { startServer } from "../src/server/index.ts";
import { defaultConfig, type ServerConfig } from "../src/core/config.ts";
import { putContent } from "../src/vfs/content.ts";
import { createDeploy, activateDeploy } from "../src/vfs/deploys.ts";
import { startFazt, tempDir, cleanup, hostFetch, api } from "./helpers/fazt.ts";
import { makeTarGz } from "./helpers/archives.ts";
import { seedDeploy } from "./helpers/sites.ts";

const dir = tempDir();
afterAll(() => cleanup(dir));

function config(dbPath: string): ServerConfig {
  return defaultConfig({ dbPath, http: { hostname: "127.0.0.1", port: 0 } });
}

describe("invalidation", () => {
  test("a new live deploy and a rollback are served at once, with a newer Last-Modified", async () => {
    const db = join(dir, "live.db");
    const first = seedDeploy(db, "blog", { "/index.html": "one", "/keep.css": "same" });
    // Routing's clock, moved on by hand: Last-Modified has second precision, and no test waits a second.
    let now = Date.now();
    const server = await startServer(config(db), { clock: () => now });
    try {
      const { store } = server.app;
      const get = (path: string, headers: Record<string, string> = {}) =>
        fetch(`http://127.0.0.1:${server.httpPort}${path}`, { headers: { host: "blog.localhost", ...headers } });
      const r1 = await get("/");
      expect(await r1.text()).toBe("one");
      const lm1 = r1.headers.get("last-modified")!;
      now += 2000;

      const siteId = (store.write.query("SELECT id FROM sites").get() as { id: number }).id;
      const blob = putContent(store, new TextEncoder().encode("two"));
      const keep = putContent(store, new TextEncoder().encode("same"));
      createDeploy(
        store,
        siteId,
        [
          { path: "/index.html", blobId: blob.blobId, size: 3, mime: "text/html" },
          { path: "/keep.css", blobId: keep.blobId, size: 4, mime: "text/css" },
        ],
        { activate: true },
      );
      server.app.sitesChanged();
      const r2 = await get("/");
      expect(await r2.text()).toBe("two");
      // The old validators no longer match the new content...
      expect((await get("/", { "if-none-match": r1.headers.get("etag")! })).status).toBe(200);
      // ...and an If-Modified-Since-only client is not told its copy is current.
      expect(Date.parse(r2.headers.get("last-modified")!)).toBeGreaterThan(Date.parse(lm1));
      expect((await get("/", { "if-modified-since": lm1 })).status).toBe(200);
      // Unchanged content keeps its ETag across deploys.
      const keep2 = await get("/keep.css", { "if-none-match": `"${keep.hash.slice(0, 32)}"` });
      expect(keep2.status).toBe(304);

      now += 2000;
      activateDeploy(store, siteId, first.id);
      server.app.sitesChanged();
      const r3 = await get("/");
      expect(await r3.text()).toBe("one");
      expect((await get("/", { "if-modified-since": r2.headers.get("last-modified")! })).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});

describe("through the deploys API", () => {
  test("rules files take effect on deploy; a bad one is a 400 naming the line and the live site stays", async () => {
    const f = await startFazt();
    try {
      expect((await api(f, "/api/sites", { method: "POST", json: { name: "blog" } })).status).toBe(201);
      const deploy = async (files: Record<string, string>) =>
        api(f, "/api/sites/blog/deploys", {
          method: "POST",
          body: await makeTarGz(Object.entries(files).map(([name, data]) => ({ name, data }))),
        });
      expect((await deploy({ "index.html": "v1", _redirects: "/old /new 302\n" })).status).toBe(201);
      expect(await (await hostFetch(f, "blog.localhost", "/")).text()).toBe("v1");
      expect((await hostFetch(f, "blog.localhost", "/old")).headers.get("location")).toBe("/new");

      const bad = await deploy({ "index.html": "v2", _redirects: "/old /new 302\n/broken\n" });
      expect(bad.status).toBe(400);
      const body = (await bad.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("invalid_rules");
      expect(body.error.message).toContain("_redirects line 2");
      const badHeaders = await deploy({ "index.html": "v2", _headers: "/*\n  Not A Header\n" });
      expect(badHeaders.status).toBe(400);
      expect(((await badHeaders.json()) as { error: { message: string } }).error.message).toContain("_headers line 2");
      expect(await (await hostFetch(f, "blog.localhost", "/")).text()).toBe("v1");

      expect((await deploy({ "index.html": "v3", _headers: "/*\n  X-Version: 3\n" })).status).toBe(201);
      const v3 = await hostFetch(f, "blog.localhost", "/");
      expect(await v3.text()).toBe("v3");
      expect(v3.headers.get("x-version")).toBe("3");
      expect((await hostFetch(f, "blog.localhost", "/old")).status).toBe(404);
    } finally {
      await f.stop();
      cleanup(f.dir);
    }
  });
});

describe("--domain routing", () => {
  test("NAME.DOMAIN and admin.DOMAIN; NAME.localhost no longer", async () => {
    const d = tempDir();
    seedDeploy(join(d, "fazt.db"), "blog", { "/index.html": "hello" });
    const f = await startFazt({ dir: d, args: ["--domain", "example.test", "--https", "off"] });
    try {
      expect(await (await hostFetch(f, "blog.example.test", "/")).text()).toBe("hello");
      expect(await (await hostFetch(f, "BLOG.example.test.:80", "/")).text()).toBe("hello");
      expect((await hostFetch(f, "admin.example.test", "/api/health")).status).toBe(200);
      expect((await hostFetch(f, "blog.localhost", "/")).status).toBe(404);
      expect((await hostFetch(f, "other.example.test", "/")).status).toBe(404);
    } finally {
      await f.stop();
      cleanup(d);
    }
  });
});

function memKb(pid: number, field: "VmRSS" | "VmHWM"): number {
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]);
}

describe("big files", () => {
  test("ten clients download a 50 MB file at once: every byte right, server RSS bounded", async () => {
    const d = tempDir();
    const big = new Uint8Array(50 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.set(new TextEncoder().encode(`block ${i}`), i);
    const want = new Bun.CryptoHasher("sha256").update(big).digest("hex");
    seedDeploy(join(d, "fazt.db"), "files", { "/big.bin": big });
    const f = await startFazt({ dir: d });
    try {
      const sums = await Promise.all(
        Array.from({ length: 10 }, async () => {
          const r = await hostFetch(f, "files.localhost", "/big.bin");
          expect(r.status).toBe(200);
          const h = new Bun.CryptoHasher("sha256");
          let n = 0;
          for await (const chunk of r.body!) {
            h.update(chunk);
            n += chunk.length;
          }
          expect(n).toBe(big.length);
          return h.digest("hex");
        }),
      );
      expect(sums).toEqual(Array(10).fill(want));
      expect(memKb(f.proc.pid, "VmHWM")).toBeLessThan(160 * 1024);

      // A client that stops reading once its answer has begun: the server must not buffer the file for it.
      // The stall lasts 1.5 s (reading 50 MB takes the server far less): the duration is the test's
      // input, not a wait for an outcome. (Serving another download meanwhile, as the event to wait
      // for, mixes that download's own memory into the measurement.)
      const before = memKb(f.proc.pid, "VmRSS");
      const slow = connect(f.port, "127.0.0.1");
      const answering = new Promise<void>((res) =>
        slow.once("data", () => {
          slow.pause();
          res();
        }),
      );
      slow.write("GET /big.bin HTTP/1.1\r\nHost: files.localhost\r\n\r\n");
      await answering;
      await Bun.sleep(1500);
      const grown = memKb(f.proc.pid, "VmRSS") - before;
      slow.destroy();
      expect(grown).toBeLessThan(20 * 1024);
    } finally {
      await f.stop();
      cleanup(d);
    }
  }, 60_000);
});
