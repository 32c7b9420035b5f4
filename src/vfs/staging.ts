// Contents received whole (a form's files, a mail's raw message and
// attachments) that are too big for one transaction: written a chunk at a
// time with the event loop free in between (8 MiB in one transaction holds it
// ~50 ms, 40 MiB ~150 ms). They belong to a stream upload meanwhile, so GC
// keeps them, until the caller's own transaction holds them (holdBlob) and
// ends the upload (dropUpload); a crash leaves nothing behind, since stream
// uploads are dropped at the next start.
import type { Store } from "../db/index.ts";
import { Breather } from "../core/breather.ts";
import { dropUpload, openUpload } from "./builder.ts";
import { CHUNK_SIZE, StagedBlob, type BlobRef } from "./content.ts";

export interface Staging {
  /** The upload holding the staged blobs until the caller holds them; null when nothing was staged. */
  uploadId: string | null;
  /** The staged blob of each content over a chunk, by the content itself. */
  blobs: Map<Uint8Array, BlobRef>;
}

/** Stage every content bigger than a chunk under a new stream upload of the site; smaller ones are left to the caller. */
export async function stageLargeContents(store: Store, siteId: number, contents: readonly Uint8Array[]): Promise<Staging> {
  const blobs = new Map<Uint8Array, BlobRef>();
  const large = contents.filter((c) => c.byteLength > CHUNK_SIZE);
  if (large.length === 0) return { uploadId: null, blobs };
  const uploadId = openUpload(store, siteId, "stream");
  const breather = new Breather();
  try {
    for (const content of large) {
      if (blobs.has(content)) continue;
      const staged = new StagedBlob(store, uploadId);
      for (let at = 0; at < content.byteLength; at += CHUNK_SIZE) {
        staged.write(content.subarray(at, at + CHUNK_SIZE));
        await breather.breathe();
      }
      blobs.set(content, staged.finish());
    }
  } catch (err) {
    dropUpload(store, uploadId);
    throw err;
  }
  return { uploadId, blobs };
}
