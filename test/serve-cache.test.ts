// The response cache's byte budget (keys included): never exceeded, recently hit entries survive;
// a deploy's compiled rules outlive cache resets (in process, to count what is read).
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ByteCache } from "../src/serve/cache.ts";
import { SiteHandler } from "../src/serve/handler.ts";
import { Store } from "../src/db/index.ts";
import { VfsReader } from "../src/vfs/read.ts";
import { seedDeploy } from "./helpers/sites.ts";
import { tempDir, cleanup } from "./helpers/fazt.ts";
import { DEFAULT_SETTINGS } from "../src/sites/index.ts";

test("stays within its byte budget across maps; a hit earns a second chance", () => {
  const cache = new ByteCache<{ bytes: number }>(1000, 400);
  const a = cache.newMap();
  const b = cache.newMap();
  cache.set(a, "hot", { bytes: 300 }, 300);
  for (let i = 0; i < 50; i++) {
    cache.set(i % 2 ? a : b, `k${i}`, { bytes: 100 }, 100);
    expect(cache.get(a, "hot")).toBeDefined(); // hit every time: kept
    expect(cache.bytes).toBeLessThanOrEqual(1000);
  }
  expect(cache.get(b, "k0")).toBeUndefined(); // cold and old: evicted
  expect(cache.get(a, "k49")).toBeDefined();
  expect(cache.set(a, "huge", { bytes: 401 }, 401).bytes).toBe(401); // returned, not kept
  expect(cache.get(a, "huge")).toBeUndefined();
  cache.set(a, "k".repeat(390), { bytes: 20 }, 20); // the key counts: 410 bytes, not kept
  expect(cache.get(a, "k".repeat(390))).toBeUndefined();
  cache.set(a, "hot", { bytes: 50 }, 50); // replacing frees the old size
  expect(cache.bytes).toBeLessThanOrEqual(1000);
  cache.clear();
  expect([cache.bytes, cache.size, a.size, b.size]).toEqual([0, 0, 0, 0]);
});

test("a deploy's rules are compiled once and kept across cache resets; misses never enter the main cache", () => {
  const dir = tempDir();
  try {
    const db = join(dir, "fazt.db");
    const d = seedDeploy(db, "blog", { "/index.html": "home", "/404.html": "nf", "/_redirects": "/a/* /b/:splat 302\n" });
    const store = Store.open(db);
    const vfs = new VfsReader(store);
    let configReads = 0;
    const read = vfs.deployConfig.bind(vfs);
    vfs.deployConfig = (id) => (configReads++, read(id));
    const handler = new SiteHandler(vfs);
    const route = {
      siteId: 1,
      siteName: "blog",
      deployId: d.id,
      preview: false,
      liveSince: 0,
      spa: null,
      settings: DEFAULT_SETTINGS,
      host: "blog.localhost",
    };
    const get = (path: string) => handler.handle(new Request(`http://blog.localhost${path}`), route).response;
    expect(get("/a/x").headers.get("location")).toBe("/b/x");
    expect(get("/").status).toBe(200);
    const main = () => handler.cacheStats();
    const before = main().entries;
    for (let i = 0; i < 200; i++) expect(get(`/missing-${i}`).status).toBe(404);
    expect(main().entries).toBeLessThanOrEqual(before + 1); // the shared 404 page, at most
    for (let i = 0; i < 3; i++) {
      handler.invalidate();
      expect(get("/a/y").headers.get("location")).toBe("/b/y");
    }
    expect(configReads).toBe(1);
    store.close();
  } finally {
    cleanup(dir);
  }
});
