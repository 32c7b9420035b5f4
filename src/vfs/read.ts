// The read side of the VFS, on the reader connection with prepared statements.
import type { Database, Statement } from "bun:sqlite";
import type { Store } from "../db/index.ts";
import { CHUNK_SIZE } from "./content.ts";

export interface FileMeta {
  blobId: number;
  hash: string;
  size: number;
  mime: string;
  chunks: number;
  /** Fingerprinted: served `Cache-Control: immutable` (decided at deploy time, src/vfs/fingerprints.ts). */
  immutable: number | null;
}

/** A precompressed form of a content ("br" or "gzip"). */
interface Variant {
  encoding: "br" | "gzip";
  blobId: number;
  size: number;
  chunks: number;
}

interface DeployRecord {
  siteId: number;
  createdAt: number;
}

/** A whole blob in one buffer, on any connection (the writer sees a deploy's own uncommitted content). */
export function readBlobBytes(db: Database, blobId: number): Uint8Array {
  const rows = db.query("SELECT data FROM chunks WHERE blob_id = ? ORDER BY seq").all(blobId) as { data: Uint8Array }[];
  if (rows.length === 1) return rows[0]!.data;
  return Buffer.concat(rows.map((r) => r.data));
}

// Every streamed chunk is a fresh 256 KiB copy out of SQLite; the engine's GC
// does not count these off-heap buffers well, so under many concurrent big
// downloads garbage piles up (ten 50 MB downloads: 145 MB peak RSS). A full
// collection every 32 MiB streamed (a few ms) keeps it near 100 MB; a mere
// hint (Bun.gc(false)) did not.
const GC_EVERY_BYTES = 32 * 1024 * 1024;
let streamedSinceGc = 0;
function collectAfter(bytes: number): void {
  streamedSinceGc += bytes;
  if (streamedSinceGc < GC_EVERY_BYTES) return;
  streamedSinceGc = 0;
  Bun.gc(true);
}

export class VfsReader {
  private lookupStmt: Statement;
  private chunkStmt: Statement;
  private chunkRangeStmt: Statement;
  private variantsStmt: Statement;
  private deployStmt: Statement;
  private configStmt: Statement;
  private notFoundStmt: Statement;

  constructor(store: Store) {
    const db = store.read;
    // Hot files are served from the handler's memory cache, so the reader
    // gains little from mmap, and mapped pages of big files count as resident
    // memory (50 MB streamed = 50 MB more RSS). Reads go through SQLite's
    // bounded page cache instead.
    db.run("PRAGMA mmap_size = 0");
    this.lookupStmt = db.prepare(
      `SELECT f.blob_id AS blobId, b.hash AS hash, f.size AS size, f.mime AS mime, b.chunks AS chunks, f.immutable AS immutable
       FROM deploy_files f JOIN blobs b ON b.id = f.blob_id WHERE f.deploy_id = ? AND f.path = ?`,
    );
    this.chunkStmt = db.prepare("SELECT data FROM chunks WHERE blob_id = ? AND seq = ?");
    this.chunkRangeStmt = db.prepare("SELECT data FROM chunks WHERE blob_id = ? AND seq >= ? AND seq <= ? ORDER BY seq");
    this.variantsStmt = db.prepare(
      `SELECT v.encoding AS encoding, b.id AS blobId, b.size AS size, b.chunks AS chunks
       FROM blob_variants v JOIN blobs b ON b.id = v.variant_blob_id
       WHERE v.blob_id = ? AND v.encoding IN ('br', 'gzip')`,
    );
    this.deployStmt = db.prepare("SELECT site_id AS siteId, created_at AS createdAt FROM deploys WHERE id = ?");
    this.configStmt = db.prepare("SELECT config FROM deploys WHERE id = ?");
    this.notFoundStmt = db.prepare("SELECT path FROM deploy_files WHERE deploy_id = ? AND path GLOB '*/404.html'");
  }

  variants(blobId: number): Variant[] {
    return this.variantsStmt.all(blobId) as Variant[];
  }

  deploy(deployId: string): DeployRecord | null {
    return this.deployStmt.get(deployId) as DeployRecord | null;
  }

  /** The deploy's stored configuration (JSON: its parsed rules), read once per deploy by the site handler. */
  deployConfig(deployId: string): string | null {
    return (this.configStmt.get(deployId) as { config: string } | null)?.config ?? null;
  }

  /** Every custom 404 page of a deploy ("/404.html", "/docs/404.html"). */
  notFoundPages(deployId: string): string[] {
    return (this.notFoundStmt.all(deployId) as { path: string }[]).map((r) => r.path);
  }

  lookup(deployId: string, path: string): FileMeta | null {
    return this.lookupStmt.get(deployId, path) as FileMeta | null;
  }

  /** The whole content in one buffer: for small files only. */
  readAll(meta: Pick<FileMeta, "blobId" | "chunks" | "size">): Uint8Array {
    if (meta.chunks === 1) return (this.chunkStmt.get(meta.blobId, 0) as { data: Uint8Array }).data;
    const out = new Uint8Array(meta.size);
    const rows = this.chunkRangeStmt.all(meta.blobId, 0, meta.chunks - 1) as { data: Uint8Array }[];
    let off = 0;
    for (const r of rows) {
      out.set(r.data, off);
      off += r.data.length;
    }
    return out;
  }

  /**
   * Bytes [start, end] (inclusive) as a pull stream: one chunk row is read
   * only when the client has taken the previous one (backpressure).
   */
  stream(blobId: number, start: number, end: number): ReadableStream<Uint8Array> {
    let seq = Math.floor(start / CHUNK_SIZE);
    const last = Math.floor(end / CHUNK_SIZE);
    const chunkStmt = this.chunkStmt;
    return new ReadableStream<Uint8Array>(
      {
        pull(controller) {
          if (seq > last) return controller.close();
          const row = chunkStmt.get(blobId, seq) as { data: Uint8Array } | null;
          if (!row) return controller.error(new Error(`missing chunk ${seq} of blob ${blobId}`));
          const base = seq * CHUNK_SIZE;
          const from = Math.max(0, start - base);
          const to = Math.min(row.data.length, end - base + 1);
          controller.enqueue(from === 0 && to === row.data.length ? row.data : row.data.subarray(from, to));
          collectAfter(row.data.length);
          seq++;
          if (seq > last) controller.close();
        },
      },
      { highWaterMark: 1 },
    );
  }
}
