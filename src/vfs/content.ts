// Content-addressed blob storage: content stored once by SHA-256, split in
// 256 KiB chunk rows so that big files are written and read in bounded memory.
import type { Store } from "../db/index.ts";

export const CHUNK_SIZE = 256 * 1024;

export interface BlobRef {
  blobId: number;
  hash: string;
  size: number;
}

export function sha256Hex(bytes: Uint8Array): string {
  return new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
}

/** Store bytes (if not yet stored) and return their blob. Call inside a write transaction for batching. */
export function putContent(store: Store, bytes: Uint8Array, hash = sha256Hex(bytes)): BlobRef {
  const db = store.write;
  const existing = db.query("SELECT id, size FROM blobs WHERE hash = ?").get(hash) as { id: number; size: number } | null;
  if (existing) return { blobId: existing.id, hash, size: existing.size };
  const chunks = Math.max(1, Math.ceil(bytes.length / CHUNK_SIZE));
  const { id } = db
    .query("INSERT INTO blobs (hash, size, chunks, created_at) VALUES (?, ?, ?, ?) RETURNING id")
    .get(hash, bytes.length, chunks, Date.now()) as { id: number };
  const insert = db.query("INSERT INTO chunks (blob_id, seq, data) VALUES (?, ?, ?)");
  for (let seq = 0; seq < chunks; seq++) insert.run(id, seq, bytes.subarray(seq * CHUNK_SIZE, (seq + 1) * CHUNK_SIZE));
  return { blobId: id, hash, size: bytes.length };
}

export function findBlob(store: Store, hash: string): BlobRef | null {
  const row = store.write.query("SELECT id, size FROM blobs WHERE hash = ?").get(hash) as { id: number; size: number } | null;
  return row ? { blobId: row.id, hash, size: row.size } : null;
}
