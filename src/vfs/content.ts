// Content-addressed blob storage: content stored once by SHA-256, split in
// 256 KiB chunk rows so that big files are written and read in bounded memory.
import type { Store } from "../db/index.ts";
import { randomId } from "../core/ids.ts";

export const CHUNK_SIZE = 256 * 1024;

export interface BlobRef {
  blobId: number;
  hash: string;
  size: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

export const SHA256_RE = /^[0-9a-f]{64}$/;

/** Store bytes (if not yet stored) and return their blob. Call inside a write transaction for batching. */
export function putContent(store: Store, bytes: Uint8Array, hash = sha256Hex(bytes)): BlobRef {
  const db = store.write;
  const existing = findBlob(store, hash);
  if (existing) return existing;
  const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK_SIZE));
  const { id } = db
    .query("INSERT INTO blobs (hash, size, chunks, created_at) VALUES (?, ?, ?, ?) RETURNING id")
    .get(hash, bytes.length, chunks, Date.now()) as { id: number };
  const insert = db.query("INSERT INTO chunks (blob_id, seq, data) VALUES (?, ?, ?)");
  for (let seq = 0; seq < chunks; seq++) insert.run(id, seq, bytes.subarray(seq * CHUNK_SIZE, (seq + 1) * CHUNK_SIZE));
  return { blobId: id, hash, size: bytes.length };
}

function findBlob(store: Store, hash: string): BlobRef | null {
  const row = store.write.query("SELECT id, size FROM blobs WHERE hash = ?").get(hash) as { id: number; size: number } | null;
  return row ? { blobId: row.id, hash, size: row.size } : null;
}

/**
 * Keep a blob alive for something outside the deploy world (a received mail's
 * attachments): GC never collects a held blob. Call in the transaction that
 * stored the content, so GC cannot take it in between.
 */
export function holdBlob(store: Store, holder: string, blobId: number): void {
  store.write.query("INSERT OR IGNORE INTO blob_holds (holder, blob_id) VALUES (?, ?)").run(holder, blobId);
}

/** Drop every hold of a holder; its blobs become garbage unless something else needs them. */
export function releaseHolds(store: Store, holder: string): number {
  return store.write.query("DELETE FROM blob_holds WHERE holder = ?").run(holder).changes;
}

/** Keep a blob alive for an upload until its deploy commits (or the upload is dropped). */
export function linkToUpload(store: Store, uploadId: string, blobId: number): void {
  store.write.query("INSERT OR IGNORE INTO upload_blobs (upload_id, blob_id) VALUES (?, ?)").run(uploadId, blobId);
}

/** Drop up to `max` of an upload's links to content (their deploy's rows keep it now); returns how many went. */
export function unlinkFromUpload(store: Store, uploadId: string, max: number): number {
  return store.write
    .query("DELETE FROM upload_blobs WHERE upload_id = ?1 AND blob_id IN (SELECT blob_id FROM upload_blobs WHERE upload_id = ?1 LIMIT ?2)")
    .run(uploadId, max).changes;
}

/**
 * A content too big to buffer, written as it arrives: each full chunk is
 * committed at once under a placeholder hash ("staged:..."), linked to its
 * upload so garbage collection leaves it alone. finish() gives it its real
 * hash, or drops it when identical content is already stored. Nothing reads
 * a staged blob: lookups are by real hash only.
 */
export class StagedBlob {
  private readonly hasher = new Bun.CryptoHasher("sha256");
  private readonly blobId: number;
  private buffered: Uint8Array[] = [];
  private bufferedBytes = 0;
  private seq = 0;
  size = 0;

  constructor(
    private readonly store: Store,
    private readonly uploadId: string,
  ) {
    this.blobId = store.tx(() => {
      const { id } = store.write
        .query("INSERT INTO blobs (hash, size, chunks, created_at) VALUES (?, 0, 0, ?) RETURNING id")
        .get(`staged:${randomId(16)}`, Date.now()) as { id: number };
      linkToUpload(store, uploadId, id);
      return id;
    });
  }

  get id(): number {
    return this.blobId;
  }

  write(bytes: Uint8Array): void {
    this.hasher.update(bytes);
    this.size += bytes.length;
    this.buffered.push(bytes);
    this.bufferedBytes += bytes.length;
    while (this.bufferedBytes >= CHUNK_SIZE) this.writeChunk(this.take(CHUNK_SIZE));
  }

  /** Write the rest and name the blob by its hash; returns the blob that holds the content. */
  finish(expectedHash?: string): BlobRef {
    if (this.bufferedBytes > 0 || this.seq === 0) this.writeChunk(this.take(this.bufferedBytes));
    const hash = this.hasher.digest("hex");
    if (expectedHash !== undefined && hash !== expectedHash) {
      this.discard();
      throw new HashMismatch(expectedHash, hash);
    }
    return this.store.tx(() => {
      const existing = findBlob(this.store, hash);
      if (existing) {
        this.store.write.query("DELETE FROM blobs WHERE id = ?").run(this.blobId);
        linkToUpload(this.store, this.uploadId, existing.blobId);
        return existing;
      }
      this.store.write.query("UPDATE blobs SET hash = ?, size = ?, chunks = ? WHERE id = ?").run(hash, this.size, this.seq, this.blobId);
      return { blobId: this.blobId, hash, size: this.size };
    });
  }

  /** Write the rest but keep the placeholder hash: a temporary spool (a zip upload) that GC removes after its upload. */
  close(): { blobId: number; size: number } {
    if (this.bufferedBytes > 0 || this.seq === 0) this.writeChunk(this.take(this.bufferedBytes));
    this.store.write.query("UPDATE blobs SET size = ?, chunks = ? WHERE id = ?").run(this.size, this.seq, this.blobId);
    return { blobId: this.blobId, size: this.size };
  }

  /** Forget the content (its rows go at once). */
  discard(): void {
    this.store.write.query("DELETE FROM blobs WHERE id = ?").run(this.blobId);
  }

  private take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const head = this.buffered[0]!;
      const k = Math.min(head.length, n - off);
      out.set(head.subarray(0, k), off);
      off += k;
      if (k === head.length) this.buffered.shift();
      else this.buffered[0] = head.subarray(k);
    }
    this.bufferedBytes -= n;
    return out;
  }

  private writeChunk(data: Uint8Array): void {
    this.store.write.query("INSERT INTO chunks (blob_id, seq, data) VALUES (?, ?, ?)").run(this.blobId, this.seq++, data);
  }
}

export class HashMismatch extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`content hash is ${actual}, expected ${expected}`);
  }
}
