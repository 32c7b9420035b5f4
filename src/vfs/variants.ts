// Precompressed variants (brotli, gzip) of compressible content, stored in
// blob_variants. They are made in the background after a deploy commits, off
// the event loop (node:zlib's async calls run on Bun's thread pool), so a
// deploy of 5,000 files never waits for compression; until a file's variants
// exist it is served as identity. Content whose variants would not be smaller
// is remembered for the life of the process only (a marker row would keep
// the blob from garbage collection); text nearly always compresses.
import zlib from "node:zlib";
import { promisify } from "node:util";
import type { Store } from "../db/index.ts";
import { putContent } from "./content.ts";
import { readBlobBytes } from "./read.ts";
import { log } from "../log/index.ts";
import type { DeployEvents } from "./events.ts";

const brotli = promisify(zlib.brotliCompress);
const gzip = promisify(zlib.gzip);

/** Smaller files gain too little; bigger ones cost too much CPU per deploy. */
const VARIANT_MIN_BYTES = 1024;
const VARIANT_MAX_BYTES = 32 * 1024 * 1024;
// Brotli 6 and gzip 6: within ~10% of their best ratio at a small fraction of the CPU.
const BROTLI_QUALITY = 6;
const GZIP_LEVEL = 6;
const BATCH = 32;

const COMPRESSIBLE = `(f.mime LIKE 'text/%' OR f.mime LIKE '%javascript%' OR f.mime LIKE '%json%' OR f.mime LIKE '%xml%'
  OR f.mime IN ('application/wasm', 'font/ttf', 'font/otf', 'application/vnd.ms-fontobject', 'image/x-icon', 'image/vnd.microsoft.icon', 'image/bmp'))`;

export class VariantMaker {
  private queue: string[] = [];
  private running: Promise<void> | null = null;
  private stopped = false;
  /** Blobs looked at that got no variant (not worth it). */
  private readonly skipped = new Set<number>();
  private unlisten: (() => void) | null = null;

  constructor(
    private readonly store: Store,
    /** Called after variants were stored (serving caches drop stale entries). */
    private readonly onMade: () => void,
    /** The server's deploy announcements; deploys written by other processes are caught up at start. */
    private readonly events?: DeployEvents,
  ) {}

  /** Listen for new deploys and catch up on every existing one, live deploys first. */
  start(): void {
    this.unlisten = this.events?.on((e) => this.enqueue(e.deployId)) ?? null;
    const ids = this.store.read
      .query(
        "SELECT d.id FROM deploys d LEFT JOIN sites s ON s.live_deploy_id = d.id WHERE d.state = 'ready' ORDER BY s.id IS NULL, d.created_at DESC",
      )
      .all() as { id: string }[];
    for (const { id } of ids) this.enqueue(id);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unlisten?.();
    await this.running;
  }

  /** Resolves when everything queued so far is done (tests, bench). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private enqueue(deployId: string): void {
    if (this.stopped || this.queue.includes(deployId)) return;
    this.queue.push(deployId);
    // Start on a later tick: a caller's enclosing transaction has committed by then.
    this.running ??= Bun.sleep(0)
      .then(() => this.run())
      .finally(() => (this.running = null));
  }

  private async run(): Promise<void> {
    while (!this.stopped && this.queue.length > 0) {
      const deployId = this.queue.shift()!;
      log.debug("variants: deploy queued for compression", { deploy: deployId, queued: this.queue.length });
      try {
        await this.makeFor(deployId);
      } catch (err) {
        log.warn("variants: giving up on a deploy", { deploy: deployId, err: err as Error });
      }
    }
  }

  private async makeFor(deployId: string): Promise<void> {
    const pending = this.store.read.query(
      `SELECT DISTINCT f.blob_id AS id FROM deploy_files f
       WHERE f.deploy_id = ? AND f.blob_id > ? AND f.size BETWEEN ? AND ? AND ${COMPRESSIBLE}
         AND NOT EXISTS (SELECT 1 FROM blob_variants v WHERE v.blob_id = f.blob_id)
       ORDER BY f.blob_id LIMIT ${BATCH}`,
    );
    for (let after = 0; ; ) {
      const rows = pending.all(deployId, after, VARIANT_MIN_BYTES, VARIANT_MAX_BYTES) as { id: number }[];
      if (rows.length === 0 || this.stopped) return;
      after = rows.at(-1)!.id;
      const made: { id: number; size: number; br: Uint8Array; gz: Uint8Array }[] = [];
      for (const { id } of rows) {
        if (this.skipped.has(id)) continue;
        const bytes = readBlobBytes(this.store.read, id);
        const [br, gz] = await Promise.all([
          brotli(bytes, {
            params: { [zlib.constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
          }),
          gzip(bytes, { level: GZIP_LEVEL }),
        ]);
        made.push({ id, size: bytes.length, br, gz });
        if (this.stopped) return;
      }
      this.store.tx(() => {
        const add = this.store.write.query("INSERT OR IGNORE INTO blob_variants (blob_id, encoding, variant_blob_id) VALUES (?, ?, ?)");
        for (const m of made) {
          let kept = 0;
          for (const [encoding, data] of [
            ["br", m.br],
            ["gzip", m.gz],
          ] as const) {
            // Only worth it when clearly smaller.
            if (data.length > m.size * 0.95) continue;
            add.run(m.id, encoding, putContent(this.store, data).blobId);
            kept++;
          }
          if (kept === 0) this.skipped.add(m.id);
        }
      });
      log.debug("variants: batch stored", { deploy: deployId, blobs: made.length, bytes: made.reduce((n, m) => n + m.size, 0) });
      if (made.length > 0) this.onMade();
    }
  }
}
