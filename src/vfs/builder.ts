// Building one deploy from a stream of files (an archive, one PUT file):
// limits checked while reading, content deduplicated and written in small
// transactions, the manifest committed at the end through createDeploy.
import type { Store } from "../db/index.ts";
import type { Limits } from "../core/config.ts";
import { randomId } from "../core/ids.ts";
import { Breather } from "../core/breather.ts";
import { CHUNK_SIZE, HashMismatch, linkToUpload, putContent, sha256Hex, StagedBlob } from "./content.ts";
import { writeDeploy, type DeployInfo, type ManifestEntry } from "./deploys.ts";
import type { DeployEvents } from "./events.ts";
import { tooManyFiles, deployTooLarge, fileTooLarge, VfsError } from "./errors.ts";
import { DiskGuard } from "./disk.ts";
import { mimeFor } from "./mime.ts";
import { GcHint } from "./gc-hint.ts";
import { deployPath, isHiddenPath, isReservedPath } from "./paths.ts";
import { log } from "../log/index.ts";
import { RULES_LIMITS, sealHeaders, tooBig } from "./rules.ts";

/** An upload lives this long without progress before GC may drop it. */
const UPLOAD_TTL_MS = 60 * 60 * 1000;

// Small files are buffered and written together: one transaction per batch,
// sized so that hashing and writing one holds the event loop a few ms.
const BATCH_BYTES = 1024 * 1024;
const BATCH_FILES = 100;

/** Open an upload: content it writes is kept until it commits or is dropped. */
export function openUpload(store: Store, siteId: number, kind: "stream" | "incremental", manifest?: unknown): string {
  const id = randomId(16);
  const now = Date.now();
  store.write
    .query("INSERT INTO uploads (id, site_id, kind, manifest, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
    .run(id, siteId, kind, manifest === undefined ? null : JSON.stringify(manifest), now, now + UPLOAD_TTL_MS);
  return id;
}

export function touchUpload(store: Store, uploadId: string): void {
  store.write.query("UPDATE uploads SET expires_at = ? WHERE id = ?").run(Date.now() + UPLOAD_TTL_MS, uploadId);
}

/** Forget an upload; the content only it referenced is left for GC. */
export function dropUpload(store: Store, uploadId: string): void {
  store.write.query("DELETE FROM uploads WHERE id = ?").run(uploadId);
}

export class DeployBuilder {
  readonly uploadId: string;
  private readonly files = new Map<string, ManifestEntry>();
  /** Every path admitted so far (written or still in the batch). */
  private readonly paths = new Set<string>();
  private bytes = 0;
  /** Bytes this upload wrote besides its files' (a zip's spool): they take disk space too. */
  private reserved = 0;
  private batch: { path: string; data: Uint8Array }[] = [];
  private batchBytes = 0;
  private lastTouch = Date.now();
  private done = false;
  private readonly breather = new Breather();

  constructor(
    private readonly store: Store,
    readonly siteId: number,
    private readonly limits: Limits,
    /** Keep dotfiles and dot-folders (see isHiddenPath); the site's choice. */
    private readonly includeDotfiles = false,
    /** Told when the deploy is committed. */
    private readonly events?: DeployEvents,
  ) {
    this.disk = new DiskGuard(store.path, limits.minFreeDiskBytes);
    this.uploadId = openUpload(store, siteId, "stream");
  }

  /**
   * Check a member before reading it: path, duplicates, count, declared size.
   * null: a hidden path (dotfile) the deploy leaves out; skip its bytes.
   */
  admit(name: string, declaredSize?: number): string | null {
    const path = deployPath(name, this.limits.maxPathLength);
    if ((!this.includeDotfiles && isHiddenPath(path)) || isReservedPath(path)) return null;
    if (this.paths.has(path)) throw new VfsError(400, "duplicate_path", `the archive holds ${path} more than once`);
    if (this.paths.size + 1 > this.limits.maxFiles) {
      throw tooManyFiles(this.limits.maxFiles);
    }
    if (declaredSize !== undefined) this.checkSize(path, declaredSize, declaredSize);
    this.paths.add(path);
    return path;
  }

  /** Read one file's bytes to the end, enforcing the limits as they arrive. */
  async addFile(path: string, body: AsyncIterable<Uint8Array>): Promise<void> {
    if (path === HEADERS_FILE) return this.addHeadersFile(body);
    const content = await receiveContent(this.store, this.uploadId, body, this.breather, (size, piece) => {
      this.checkSize(path, size, size);
      this.disk.check(piece);
      this.touch();
      this.gcHint.add(piece);
    });
    this.bytes += content.size;
    if ("staged" in content) {
      const blob = content.staged.finish();
      this.files.set(path, { path, blobId: blob.blobId, size: content.size, mime: mimeFor(path) });
      return;
    }
    this.batch.push({ path, data: content.data });
    this.batchBytes += content.size;
    if (this.batchBytes >= BATCH_BYTES || this.batch.length >= BATCH_FILES) this.flush();
  }

  /** `_headers` is read whole in memory (it is small) and its Basic-Auth passwords hashed before anything is stored. */
  private async addHeadersFile(body: AsyncIterable<Uint8Array>): Promise<void> {
    const data = await sealedHeadersFile(body, (size, piece) => {
      this.checkSize(HEADERS_FILE, size, size);
      this.disk.check(piece);
      this.touch();
    });
    this.bytes += data.length;
    this.batch.push({ path: HEADERS_FILE, data });
    this.batchBytes += data.length;
    if (this.batchBytes >= BATCH_BYTES || this.batch.length >= BATCH_FILES) this.flush();
  }

  /** Carry a file over from another deploy (single-file PUT). */
  addEntry(entry: ManifestEntry): void {
    this.files.set(entry.path, entry);
    this.paths.add(entry.path);
    this.bytes += entry.size;
  }

  /** Let the event loop run if this deploy has held it for a slice (archive readers call it per piece and per entry). */
  breathe(): Promise<void> | undefined {
    return this.breather.breathe();
  }

  /** Count bytes about to be written for this upload outside its files (a spooled zip). */
  reserve(bytes: number): void {
    this.reserved += bytes;
    if (this.reserved + this.bytes > this.limits.maxDeployBytes) throw this.deployTooLarge();
    this.disk.check(bytes);
  }

  /** Write the manifest (in slices: writeDeploy); with activate, make it live when it is committed. */
  async commit(opts: { activate: boolean; keepDeploys: number; createdBy?: string; hosts?: readonly string[] }): Promise<DeployInfo> {
    this.flush();
    if (this.files.size === 0) throw new VfsError(400, "empty_archive", "the archive holds no files");
    const info = await writeDeploy(
      this.store,
      this.siteId,
      [...this.files.values()],
      {
        activate: opts.activate,
        uploadId: this.uploadId,
        keepDeploys: opts.keepDeploys,
        createdBy: opts.createdBy,
        hosts: opts.hosts,
        events: this.events,
      },
      this.breather,
    );
    this.done = true;
    return info;
  }

  /** Give up: nothing was committed; the content written so far is left for GC. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    try {
      dropUpload(this.store, this.uploadId);
    } catch (err) {
      // A full disk or a deleted site: the upload expires and GC drops it; the caller's error is the one to report.
      log.warn("could not drop an upload", { upload: this.uploadId, err: err as Error });
    }
  }

  private checkSize(path: string, fileBytes: number, addedBytes: number): void {
    if (fileBytes > this.limits.maxFileBytes) {
      throw fileTooLarge(path, this.limits.maxFileBytes);
    }
    if (this.reserved + this.bytes + addedBytes > this.limits.maxDeployBytes) throw this.deployTooLarge();
  }

  private deployTooLarge(): VfsError {
    const spool = this.reserved > 0 ? ", counting the zip itself, which is kept while it is read" : "";
    return deployTooLarge(this.limits.maxDeployBytes, spool);
  }

  private flush(): void {
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    const hashed = batch.map((b) => ({ ...b, hash: sha256Hex(b.data) }));
    this.store.tx(() => {
      for (const b of hashed) {
        const blob = putContent(this.store, b.data, b.hash);
        linkToUpload(this.store, this.uploadId, blob.blobId);
        this.files.set(b.path, { path: b.path, blobId: blob.blobId, size: b.data.length, mime: mimeFor(b.path) });
      }
    });
  }

  private readonly gcHint = new GcHint();
  private readonly disk: DiskGuard;

  private touch(): void {
    const now = Date.now();
    if (now - this.lastTouch < 60_000) return;
    this.lastTouch = now;
    touchUpload(this.store, this.uploadId);
  }
}

type Received = { size: number; data: Uint8Array } | { size: number; staged: StagedBlob };

/**
 * Read one content to its end: kept in memory while it fits in one chunk,
 * staged chunk by chunk beyond that. `onPiece` may throw to stop reading
 * (a limit); then nothing of it is kept.
 */
async function receiveContent(
  store: Store,
  uploadId: string,
  body: AsyncIterable<Uint8Array>,
  breather: Breather,
  onPiece: (sizeSoFar: number, pieceBytes: number) => void,
): Promise<Received> {
  const held: Uint8Array[] = [];
  let size = 0;
  let staged: StagedBlob | null = null;
  try {
    for await (const piece of body) {
      size += piece.length;
      onPiece(size, piece.length);
      if (staged) staged.write(piece);
      else if (size <= CHUNK_SIZE) held.push(piece);
      else {
        staged = new StagedBlob(store, uploadId);
        for (const h of held) staged.write(h);
        held.length = 0;
        staged.write(piece);
      }
      await breather.breathe();
    }
  } catch (err) {
    staged?.discard();
    throw err;
  }
  // A copy: pieces may be views into much bigger buffers that must not stay alive in a batch.
  return staged ? { size, staged } : { size, data: Buffer.concat(held) };
}

export const HEADERS_FILE = "/_headers";

/**
 * A `_headers` file's bytes, read in memory up to the rules file limit, with
 * Basic-Auth passwords replaced by their hashes (vfs/rules.ts sealHeaders).
 */
export async function sealedHeadersFile(
  body: AsyncIterable<Uint8Array>,
  onPiece: (sizeSoFar: number, pieceBytes: number) => void,
  received?: (original: Uint8Array) => void,
): Promise<Uint8Array> {
  const held: Uint8Array[] = [];
  let size = 0;
  for await (const piece of body) {
    size += piece.length;
    if (size > RULES_LIMITS.fileBytes) throw tooBig("_headers");
    onPiece(size, piece.length);
    held.push(piece);
  }
  const data = Buffer.concat(held);
  received?.(data);
  const sealed = await sealHeaders(new TextDecoder().decode(data));
  return sealed === null ? data : new TextEncoder().encode(sealed);
}

/** Store one content of an incremental upload from a stream; its SHA-256 must be `expectedHash`. */
export async function storeContent(
  store: Store,
  uploadId: string,
  body: AsyncIterable<Uint8Array>,
  expectedHash: string,
  limits: Limits,
): Promise<{ blobId: number; size: number }> {
  const disk = new DiskGuard(store.path, limits.minFreeDiskBytes);
  const content = await receiveContent(store, uploadId, body, new Breather(), (size, piece) => {
    if (size > limits.maxFileBytes) {
      throw fileTooLarge("the content", limits.maxFileBytes);
    }
    disk.check(piece);
  });
  touchUpload(store, uploadId);
  if ("staged" in content) {
    try {
      return content.staged.finish(expectedHash);
    } catch (err) {
      if (err instanceof HashMismatch) throw new VfsError(400, "hash_mismatch", err.message);
      throw err;
    }
  }
  const hash = sha256Hex(content.data);
  if (hash !== expectedHash) throw new VfsError(400, "hash_mismatch", new HashMismatch(expectedHash, hash).message);
  return store.tx(() => {
    const blob = putContent(store, content.data, hash);
    linkToUpload(store, uploadId, blob.blobId);
    return blob;
  });
}
