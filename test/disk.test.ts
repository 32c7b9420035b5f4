// Disk space against the real server: a refused deploy gives its pages back
// (incremental auto-vacuum after GC), and a full disk during a deploy is a 507
// that leaves the live site serving and the database intact. The full disk is
// real: a small tmpfs mounted for the test (the tests run as root, as CI does).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { api, cleanup, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";
import { makeTarGz } from "./helpers/archives.ts";
import { errorOf, expectHealthy, readDb, type Survivor } from "./helpers/hostile.ts";

const MiB = 1024 * 1024;

/** `count` files of `size` zero bytes, each made distinct by its first bytes (no dedup): a tiny tar.gz. */
function nearZeroFiles(count: number, size: number) {
  return Array.from({ length: count }, (_, i) => {
    const data = new Uint8Array(size);
    data.set(new TextEncoder().encode(`file ${i}`));
    return { name: `f${i}.bin`, data };
  });
}

const fileBytes = (path: string) => {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
};

async function startWithSite(opts: Parameters<typeof startFazt>[0]): Promise<{ f: FaztProcess; live: Survivor }> {
  const f = await startFazt(opts);
  expect((await api(f, "/api/sites", { method: "POST", json: { name: "blog" } })).status).toBe(201);
  const r = await api(f, "/api/sites/blog/deploys", {
    method: "POST",
    body: await makeTarGz([{ name: "index.html", data: "<h1>live</h1>" }]),
  });
  expect(r.status).toBe(201);
  return { f, live: { site: "blog", deployId: ((await r.json()) as { id: string }).id, pages: { "/": "<h1>live</h1>" } } };
}

describe("a refused deploy does not keep its pages", () => {
  let f: FaztProcess;
  let live: Survivor;
  beforeAll(async () => {
    ({ f, live } = await startWithSite({ args: ["--max-file-bytes", String(8 * MiB), "--max-deploy-bytes", String(40 * MiB)] }));
  });
  afterAll(async () => {
    await f.stop();
    cleanup(f.dir);
  });

  test("eleven 4 MiB near-zero files (44 MiB, a tiny tar.gz) → 413; after GC fazt.db is back to its size", async () => {
    readDb(f, (d) => expect(d.query("PRAGMA auto_vacuum").get()).toEqual({ auto_vacuum: 2 }));
    const before = fileBytes(f.db);
    const body = await makeTarGz(nearZeroFiles(11, 4 * MiB));
    expect(body.length).toBeLessThan(MiB);
    expect(await errorOf(await api(f, "/api/sites/blog/deploys", { method: "POST", body }))).toMatchObject({
      status: 413,
      code: "deploy_too_large",
    });
    const grown = fileBytes(f.db) + fileBytes(`${f.db}-wal`);
    expect(grown - before).toBeGreaterThan(20 * MiB); // it really wrote (then refused at the limit)
    const gc = (await (await api(f, "/api/gc", { method: "POST" })).json()) as { reclaimed: number };
    expect(gc.reclaimed).toBeGreaterThan(20 * MiB);
    expect(fileBytes(f.db) - before).toBeLessThan(2 * MiB);
    readDb(f, (d) => expect(d.query("PRAGMA freelist_count").get()).toEqual({ freelist_count: 0 }));
    await expectHealthy(f, [live]);
  });
});

describe("a nearly full disk during a deploy (a 24 MiB tmpfs)", () => {
  const mount = tempDir("fazt-small-disk-");
  let mounted = false;

  beforeAll(() => {
    const m = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", mount]);
    if (m.exitCode !== 0) throw new Error(`cannot mount a small tmpfs (the test needs root): ${m.stderr.toString()}`);
    mounted = true;
  });

  afterAll(() => {
    if (mounted) Bun.spawnSync(["umount", mount]);
    cleanup(mount);
  });

  /** A server whose database lives on the small disk; removed afterwards to give the space back. */
  async function onSmallDisk(name: string, args: string[], fn: (f: FaztProcess, live: Survivor) => Promise<void>): Promise<void> {
    const dir = join(mount, name);
    mkdirSync(dir);
    const { f, live } = await startWithSite({ dir, args });
    try {
      await fn(f, live);
    } finally {
      await f.stop();
      cleanup(dir);
    }
  }

  const big = () => makeTarGz(nearZeroFiles(10, 4 * MiB));

  test("the free-space reserve stops the deploy first: 507, and after GC the space is back and deploys work", async () => {
    await onSmallDisk("reserve", ["--min-free-disk-bytes", String(4 * MiB)], async (f, live) => {
      expect(await errorOf(await api(f, "/api/sites/blog/deploys", { method: "POST", body: await big() }))).toMatchObject({
        status: 507,
        code: "insufficient_storage",
        message: expect.stringContaining("--min-free-disk-bytes"),
      });
      await expectHealthy(f, [live]);
      expect((await api(f, "/api/gc", { method: "POST" })).status).toBe(200);
      const next = await api(f, "/api/sites/blog/deploys", {
        method: "POST",
        body: await makeTarGz([{ name: "index.html", data: "<h1>next</h1>" }, ...nearZeroFiles(2, 2 * MiB)]),
      });
      expect(next.status).toBe(201);
      await expectHealthy(f, [{ ...live, deployId: ((await next.json()) as { id: string }).id, pages: { "/": "<h1>next</h1>" } }]);
    });
  });

  test("without a reserve the disk really fills (SQLITE_FULL): 507, the live site serves, the database is intact", async () => {
    await onSmallDisk("full", ["--min-free-disk-bytes", "0"], async (f, live) => {
      const res = await api(f, "/api/sites/blog/deploys", { method: "POST", body: await big() });
      expect(await errorOf(res)).toMatchObject({ status: 507, code: "insufficient_storage", message: expect.stringContaining("full") });
      await expectHealthy(f, [live]);
    });
  });
});
