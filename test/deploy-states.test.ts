// A deploy is written in slices ('writing': invisible, tied to its upload)
// and made 'ready' in one short transaction; deploys past retention are
// marked 'deleting' (invisible at once) and removed by GC a slice at a time.
// Driven in-process, step by step, with a Breather that waits for the test.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Breather } from "../src/core/breather.ts";
import { Store } from "../src/db/index.ts";
import { createSite, type Site } from "../src/sites/index.ts";
import { dropUpload, openUpload } from "../src/vfs/builder.ts";
import { linkToUpload, putContent } from "../src/vfs/content.ts";
import { activateDeploy, createDeploy, listDeploys, removeRetiredDeploys, writeDeploy, type ManifestEntry } from "../src/vfs/deploys.ts";
import { cleanup, tempDir } from "./helpers/fazt.ts";

/** Each breath waits until the test lets it go: the deploy's state can be looked at between slices. */
class Gate extends Breather {
  private waiting: (() => void)[] = [];
  breaths = 0;

  override breathe(): Promise<void> {
    this.breaths++;
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** Wait until the job is at a breath and let it go on; false when the job ended instead. */
  async step(job: Promise<unknown>): Promise<boolean> {
    let ended = false;
    void job.then(
      () => (ended = true),
      () => (ended = true),
    );
    while (this.waiting.length === 0) {
      if (ended) return false;
      await Bun.sleep(1);
    }
    this.waiting.shift()!();
    return true;
  }
}

let dir: string;
let store: Store;
let site: Site;
beforeEach(() => {
  dir = tempDir();
  store = Store.open(join(dir, "fazt.db"));
  site = createSite(store, "blog");
});
afterEach(() => {
  store.close();
  cleanup(dir);
});

/** n files stored for an upload, as a builder leaves them before its commit. */
function uploaded(n: number, tag: string): { uploadId: string; entries: ManifestEntry[] } {
  const uploadId = openUpload(store, site.id, "stream");
  const entries = store.tx(() =>
    Array.from({ length: n }, (_, i) => {
      const blob = putContent(store, new TextEncoder().encode(`${tag} ${i}`));
      linkToUpload(store, uploadId, blob.blobId);
      return { path: `/f${i}.txt`, blobId: blob.blobId, size: blob.size, mime: "text/plain" };
    }),
  );
  return { uploadId, entries };
}

const count = (sql: string, ...params: (string | number)[]) =>
  (store.write.query(`SELECT COUNT(*) AS n FROM ${sql}`).get(...params) as { n: number }).n;

describe("a deploy written in slices", () => {
  test("is invisible while it is written (not listed, not activatable), then whole at once", async () => {
    const live = createDeploy(
      store,
      site.id,
      [{ path: "/old.txt", ...putContent(store, new TextEncoder().encode("old")), mime: "text/plain" }],
      {
        activate: true,
      },
    );
    const { uploadId, entries } = uploaded(1200, "new");
    const gate = new Gate();
    const written = writeDeploy(store, site.id, entries, { activate: true, uploadId }, gate);
    let sawWriting = false;
    let sawPartial = false;
    while (await gate.step(written)) {
      const row = store.write.query("SELECT id FROM deploys WHERE state = 'writing'").get() as { id: string } | null;
      if (!row) continue;
      sawWriting = true;
      const files = count("deploy_files WHERE deploy_id = ?", row.id);
      if (files > 0 && files < 1200) sawPartial = true;
      expect(listDeploys(store, site.id).map((d) => d.id)).toEqual([live.id]);
      expect(() => store.tx(() => activateDeploy(store, site.id, row.id))).toThrow(/no deploy/);
    }
    const info = await written;
    expect(sawWriting).toBe(true);
    expect(sawPartial).toBe(true); // rows were written over several transactions
    expect(gate.breaths).toBeGreaterThanOrEqual(3);
    expect(listDeploys(store, site.id).map((d) => [d.id, d.live])).toEqual([
      [info.id, true],
      [live.id, false],
    ]);
    expect(count("deploy_files WHERE deploy_id = ?", info.id)).toBe(1200);
    expect(count("deploys WHERE state <> 'ready' OR upload_id IS NOT NULL")).toBe(0);
    expect(count("upload_blobs WHERE upload_id = ?", uploadId)).toBe(0);
  });

  test("an upload that ends meanwhile (dropped, expired, committed by another request) ends it: 409, nothing left", async () => {
    const { uploadId, entries } = uploaded(1200, "doomed");
    const gate = new Gate();
    const written = writeDeploy(store, site.id, entries, { activate: true, uploadId }, gate);
    while (count("deploy_files") === 0) expect(await gate.step(written)).toBe(true);
    dropUpload(store, uploadId);
    while (await gate.step(written));
    const err = (await written.catch((e: unknown) => e)) as { status?: number; code?: string };
    expect([err.status, err.code]).toEqual([409, "upload_ended"]);
    expect(count("deploys")).toBe(0);
    expect(count("deploy_files")).toBe(0);
    expect(listDeploys(store, site.id)).toEqual([]);
  });
});

describe("deploys past retention", () => {
  test("are gone from the list at once, and GC removes their manifests a slice at a time", async () => {
    const made: string[] = [];
    for (let k = 0; k < 5; k++) {
      const { uploadId, entries } = uploaded(1100, `v${k}`);
      made.push(createDeploy(store, site.id, entries, { activate: true, uploadId, keepDeploys: 2 }).id);
    }
    // The newest two are kept (the live one among them; the one live before it is the second).
    expect(listDeploys(store, site.id).map((d) => d.id)).toEqual([made[4]!, made[3]!]);
    expect(count("deploys WHERE state = 'deleting'")).toBe(3);
    let pauses = 0;
    const removed = await removeRetiredDeploys(store, async () => {
      pauses++;
    });
    expect(removed).toBe(3);
    // 1,100 rows at 500 a slice: three slices and the empty check, per deploy.
    expect(pauses).toBeGreaterThanOrEqual(9);
    expect(count("deploys")).toBe(2);
    expect(count("deploy_files")).toBe(2200);
  });
});
