// Cache-Control of fingerprinted files through a real server: the decision is
// made when a deploy is written (evidence from the live deploy it follows),
// older deploys are decided at start, `_headers` still overrides.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { api, cleanup, hostFetch, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";
import { seedDeploy } from "./helpers/sites.ts";
import { makeTarGz } from "./helpers/archives.ts";

const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "public, max-age=0, must-revalidate";

const dir = tempDir();
const db = join(dir, "fazt.db");
let f: FaztProcess;

async function deploy(site: string, files: Record<string, string>): Promise<string> {
  const body = await makeTarGz(Object.entries(files).map(([name, data]) => ({ name: name.slice(1), data })));
  const r = await api(f, `/api/sites/${site}/deploys`, { method: "POST", body });
  expect(r.status).toBe(201);
  return ((await r.json()) as { id: string }).id;
}

async function cacheControl(site: string, path: string): Promise<string | null> {
  const r = await hostFetch(f, `${site}.localhost`, path);
  await r.arrayBuffer();
  expect(r.status).toBe(200);
  return r.headers.get("cache-control");
}

const answers = async (site: string, paths: string[]) => Promise.all(paths.map(async (p) => [p, await cacheControl(site, p)]));

beforeAll(async () => {
  // A deploy written before decisions were stored (migration 0011): its files have none.
  seedDeploy(db, "old", { "/index.html": "<h1>old</h1>", "/assets/app.3f2a1b4c9d.js": "1", "/logo.svg": "<svg/>" });
  const d = new Database(db);
  d.run("UPDATE deploy_files SET immutable = NULL");
  d.close();
  f = await startFazt({ dir, db });
  for (const name of ["photos", "rules"]) expect((await api(f, "/api/sites", { method: "POST", json: { name } })).status).toBe(201);
});

afterAll(async () => {
  await f.stop();
  cleanup(dir);
});

describe("fingerprinted files through the server", () => {
  test("a deploy made before decisions were stored is decided at start", async () => {
    expect(await answers("old", ["/", "/assets/app.3f2a1b4c9d.js", "/logo.svg"])).toEqual([
      ["/", REVALIDATE],
      ["/assets/app.3f2a1b4c9d.js", IMMUTABLE],
      ["/logo.svg", REVALIDATE],
    ]);
    expect(f.stderr()).toContain("fingerprinted files decided for deploys made before decisions were stored");
  });

  test("a hash part that changed since the live deploy; unchanged files keep their decision; new content under a kept name loses it", async () => {
    const plain = { "/index.html": "<h1>photos</h1>", "/static/a.js": "a", "/static/b.js": "b" };
    await deploy("photos", { ...plain, "/static/photo-DmKvMAsX.js": "v1" });
    // one name without digits among plain ones: no evidence yet
    expect(await cacheControl("photos", "/static/photo-DmKvMAsX.js")).toBe(REVALIDATE);
    await deploy("photos", { ...plain, "/static/photo-CnGaWJif.js": "v2" });
    expect(await answers("photos", ["/static/photo-CnGaWJif.js", "/static/a.js"])).toEqual([
      ["/static/photo-CnGaWJif.js", IMMUTABLE],
      ["/static/a.js", REVALIDATE],
    ]);
    await deploy("photos", { ...plain, "/static/photo-CnGaWJif.js": "v2", "/static/c.js": "c" });
    expect(await cacheControl("photos", "/static/photo-CnGaWJif.js")).toBe(IMMUTABLE);
    await deploy("photos", { ...plain, "/static/photo-CnGaWJif.js": "v3" });
    expect(await cacheControl("photos", "/static/photo-CnGaWJif.js")).toBe(REVALIDATE);
  });

  test("a single-file PUT is judged against the live deploy it extends: decisions made by evidence stay", async () => {
    const plain = { "/index.html": "<h1>photos</h1>", "/static/a.js": "a", "/static/b.js": "b" };
    await deploy("photos", { ...plain, "/static/photo-BqLmNoPz.js": "v5" });
    expect(await cacheControl("photos", "/static/photo-BqLmNoPz.js")).toBe(IMMUTABLE);
    const put = await api(f, "/api/sites/photos/files/static/d.js", { method: "PUT", body: "d" });
    expect(put.status).toBe(201);
    expect(await answers("photos", ["/static/photo-BqLmNoPz.js", "/static/d.js"])).toEqual([
      ["/static/photo-BqLmNoPz.js", IMMUTABLE],
      ["/static/d.js", REVALIDATE],
    ]);
  });

  test("_headers still overrides the decision", async () => {
    await deploy("rules", {
      "/index.html": "<h1>rules</h1>",
      "/assets/app.3f2a1b4c9d.js": "1",
      "/assets/index-BXa3k9Qz.css": "body{}",
      "/_headers": "/assets/app.*\n  Cache-Control: no-cache\n",
    });
    expect(await answers("rules", ["/assets/app.3f2a1b4c9d.js", "/assets/index-BXa3k9Qz.css"])).toEqual([
      ["/assets/app.3f2a1b4c9d.js", "no-cache"],
      ["/assets/index-BXa3k9Qz.css", IMMUTABLE],
    ]);
  });
});
