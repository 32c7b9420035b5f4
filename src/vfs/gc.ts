// Garbage collection of content no deploy needs any more. It runs in the
// background in small transactions (a few chunk rows each) and yields between
// them, so serving (the reader connection, never blocked in WAL mode) and
// other writes go on while a big deploy's content is removed.
import type { Store } from "../db/index.ts";
import { log } from "../log/index.ts";
import { removeRetiredDeploys } from "./deploys.ts";
import { nextTurn } from "../core/breather.ts";

const BLOBS_PER_WINDOW = 2000; // blob ids examined per query (~1 ms)
const CHUNKS_PER_TX = 16; // 4 MiB of chunk rows per transaction
const PAGES_PER_RECLAIM = 512; // 2 MiB of 4 KiB pages per incremental vacuum step

// A blob is garbage when no deploy, upload in progress, precompressed-variant link or hold
// (blob_holds: received mail, see content.ts holdBlob) needs it.
// (A variant is kept through its original's row; when the original goes, its blob_variants rows go
// with it and the variant becomes garbage on the next pass.)
const UNREFERENCED = `NOT EXISTS (SELECT 1 FROM deploy_files f WHERE f.blob_id = b.id)
  AND NOT EXISTS (SELECT 1 FROM upload_blobs u WHERE u.blob_id = b.id)
  AND NOT EXISTS (SELECT 1 FROM blob_variants v WHERE v.variant_blob_id = b.id)
  AND NOT EXISTS (SELECT 1 FROM blob_holds h WHERE h.blob_id = b.id)`;

interface GcResult {
  /** Deploys past retention removed (their manifests, a slice at a time). */
  deploys: number;
  uploads: number;
  blobs: number;
  bytes: number;
  /** Bytes of free pages given back to the file system. */
  reclaimed: number;
}

export class GarbageCollector {
  private running: Promise<GcResult> | null = null;
  private again = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly store: Store) {}

  /** Uploads streamed by a process that is gone cannot finish: drop them (call at start-up). */
  dropStreamUploads(): number {
    return this.store.write.query("DELETE FROM uploads WHERE kind = 'stream'").run().changes;
  }

  /** Ask for a collection soon, in the background. */
  schedule(delayMs = 50): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.run().catch((err) => log.error("gc failed", { err: err as Error }));
    }, delayMs);
  }

  /** Collect until nothing is left; concurrent callers share one run (and a run is repeated if asked during it). */
  run(): Promise<GcResult> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      const total: GcResult = { deploys: 0, uploads: 0, blobs: 0, bytes: 0, reclaimed: 0 };
      const started = performance.now();
      log.debug("gc run started");
      try {
        do {
          this.again = false;
          const r = await this.collect();
          total.deploys += r.deploys;
          total.uploads += r.uploads;
          total.blobs += r.blobs;
          total.bytes += r.bytes;
        } while (this.again && !this.stopped);
        total.reclaimed = await this.giveBack();
      } finally {
        this.running = null;
      }
      const ms = Math.round(performance.now() - started);
      if (total.deploys || total.blobs || total.uploads || total.reclaimed) log.info("gc collected", { ...total, ms });
      else log.debug("gc run found nothing to collect", { ms });
      return total;
    })();
    return this.running;
  }

  /** Stop scheduling; wait for a run in progress to finish its current step. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => {});
  }

  private async collect(): Promise<GcResult> {
    const db = this.store.write;
    // First the deploys past retention: their content may become garbage below.
    const deploys = await removeRetiredDeploys(this.store, nextTurn);
    const uploads = db.query("DELETE FROM uploads WHERE expires_at < ?").run(Date.now()).changes;
    let blobs = 0;
    let bytes = 0;
    // Blobs are examined by windows of ids: one query over the whole table would
    // hold the loop for as long as it has blobs (26 ms at 100,000, with nothing
    // to collect). A variant is made after its original, so it has a higher id and
    // is reached after the original went and took its blob_variants row along (one
    // that deduplicated onto an older blob waits for the next run).
    const last = (db.query("SELECT MAX(id) AS id FROM blobs").get() as { id: number | null }).id ?? 0;
    const window = db.query(`SELECT b.id FROM blobs b WHERE b.id > ?1 AND b.id <= ?2 AND ${UNREFERENCED}`);
    for (let after = 0; after < last && !this.stopped; after += BLOBS_PER_WINDOW) {
      const ids = (window.all(after, after + BLOBS_PER_WINDOW) as { id: number }[]).map((r) => r.id);
      await nextTurn();
      for (const id of ids) {
        if (this.stopped) break;
        const size = this.condemn(id);
        if (size === null) continue;
        await this.removeChunks(id);
        db.query("DELETE FROM blobs WHERE id = ?").run(id);
        blobs++;
        bytes += size;
        await nextTurn();
      }
    }
    return { deploys, uploads, blobs, bytes, reclaimed: 0 };
  }

  /** Re-check and rename the blob so no new deploy can find it by hash; null when it is in use again. */
  private condemn(id: number): number | null {
    return this.store.tx(() => {
      const row = this.store.write.query(`SELECT b.size FROM blobs b WHERE b.id = ? AND ${UNREFERENCED}`).get(id) as {
        size: number;
      } | null;
      if (!row) return null;
      this.store.write.query("UPDATE blobs SET hash = 'condemned:' || id WHERE id = ?").run(id);
      return row.size;
    });
  }

  /**
   * Free pages (of collected blobs, refused or dropped uploads, deleted rows)
   * go back to the file system in small incremental-vacuum steps, yielding
   * between them; the file shrinks at the checkpoint.
   */
  private async giveBack(): Promise<number> {
    const start = this.store.freeSpace();
    if (start.pages === 0) return 0;
    let left = start.pages;
    while (left > 0 && !this.stopped) {
      const now = this.store.reclaim(PAGES_PER_RECLAIM);
      if (now >= left) break; // nothing more can go (another connection's snapshot)
      left = now;
      await nextTurn();
    }
    this.store.checkpoint();
    return Math.round(((start.pages - left) / start.pages) * start.bytes);
  }

  private async removeChunks(id: number): Promise<void> {
    const del = this.store.write.query(
      `DELETE FROM chunks WHERE rowid IN (SELECT rowid FROM chunks WHERE blob_id = ? LIMIT ${CHUNKS_PER_TX})`,
    );
    while (del.run(id).changes > 0) await nextTurn();
  }
}
