// Background precompression: variants only when clearly smaller, each blob
// looked at once, the work finishes (incompressible text does not loop).
import { expect, test, afterAll } from "bun:test";
import { join } from "node:path";
import { Store } from "../src/db/index.ts";
import { VariantMaker } from "../src/vfs/variants.ts";
import { seedDeploy } from "./helpers/sites.ts";
import { tempDir, cleanup } from "./helpers/fazt.ts";

const dir = tempDir();
afterAll(() => cleanup(dir));

test("br and gzip for compressible content above 1 KiB; none for noise, tiny files or images", async () => {
  const db = join(dir, "v.db");
  const noise = crypto.getRandomValues(new Uint8Array(8192));
  seedDeploy(db, "site", {
    "/page.html": "<p>hello hello hello</p>\n".repeat(200),
    "/noise.txt": noise,
    "/tiny.css": "a{}",
    "/photo.png": "<p>png bytes that would compress</p>".repeat(100),
  });
  const store = Store.open(db);
  let made = 0;
  const maker = new VariantMaker(store, () => made++);
  try {
    maker.start();
    await maker.idle();
    const rows = store.read
      .query(
        `SELECT f.path, v.encoding, vb.size AS vsize, f.size FROM deploy_files f
         JOIN blob_variants v ON v.blob_id = f.blob_id JOIN blobs vb ON vb.id = v.variant_blob_id ORDER BY f.path, v.encoding`,
      )
      .all() as { path: string; encoding: string; vsize: number; size: number }[];
    expect(rows.map((r) => `${r.path} ${r.encoding}`)).toEqual(["/page.html br", "/page.html gzip"]);
    for (const r of rows) expect(r.vsize).toBeLessThan(r.size);
    expect(made).toBeGreaterThan(0);

    // A second maker (a restart) looks at the noise again, still keeps nothing, and ends.
    const again = new VariantMaker(store, () => {});
    again.start();
    await again.idle();
    await again.stop();
    expect((store.read.query("SELECT count(*) AS n FROM blob_variants").get() as { n: number }).n).toBe(2);
  } finally {
    await maker.stop();
    store.close();
  }
});
