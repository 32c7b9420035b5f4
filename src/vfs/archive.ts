// Reading an uploaded archive into a DeployBuilder. The format is told by its
// first bytes. tar and tar.gz stream straight through (tar-stream, native
// gunzip): nothing but the file being read is held in memory. A zip's index
// (the central directory) sits at its end, so a zip is first spooled into
// temporary chunk rows of fazt.db (no other file is written) and then read
// with random access by yauzl, which checks local headers against the index.
import { createCipheriv, createDecipheriv, randomBytes, type Cipheriv } from "node:crypto";
import { Readable, pipeline, Transform, type TransformCallback } from "node:stream";
import { createGunzip } from "node:zlib";
import * as tar from "tar-stream";
import * as yauzl from "yauzl";
import { SQLiteError } from "bun:sqlite";
import type { Store } from "../db/index.ts";
import { CHUNK_SIZE, StagedBlob } from "./content.ts";
import type { DeployBuilder } from "./builder.ts";
import { badArchive, deployTooLarge, tooManyFiles, VfsError } from "./errors.ts";
import { GcHint } from "./gc-hint.ts";

type ArchiveKind = "tar" | "tar.gz" | "zip";

interface ArchiveLimits {
  maxDeployBytes: number;
  maxFiles: number;
}

/** What an archive may weigh beyond its files' bytes: headers, padding, names. */
function archiveBudget(l: ArchiveLimits): number {
  return l.maxDeployBytes + l.maxFiles * 2048 + 1024 * 1024;
}

function budgetError(l: ArchiveLimits) {
  return deployTooLarge(l.maxDeployBytes, ", counting the archive's own framing");
}

interface ByteReader {
  read(): Promise<{ done: true; value?: undefined } | { done: false; value: Uint8Array }>;
  cancel(): Promise<void>;
}

function detectArchive(head: Uint8Array): ArchiveKind | null {
  if (head[0] === 0x1f && head[1] === 0x8b) return "tar.gz";
  if (head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 3 && head[3] === 4) || (head[2] === 5 && head[3] === 6))) return "zip";
  if (head.length >= 262 && Buffer.from(head.subarray(257, 262)).toString("latin1") === "ustar") return "tar";
  return null;
}

/** Read until `n` bytes (or the end) are in hand; give them back with the rest of the stream. */
async function peek(reader: ByteReader, n: number): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let got = 0;
  while (got < n) {
    const { value, done } = await reader.read();
    if (done) break;
    parts.push(value);
    got += value.length;
  }
  return Buffer.concat(parts);
}

/** The body's bytes (the peeked head first), refusing to read past `limit`. */
async function* bodyBytes(head: Uint8Array, reader: ByteReader, limit: number, onOver: () => Error) {
  let total = head.length;
  try {
    if (total > limit) throw onOver();
    if (head.length) yield head;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      total += value.length;
      if (total > limit) throw onOver();
      yield value;
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** Counts bytes passing through; errors as soon as they exceed the limit. */
function byteLimit(limit: number, onOver: () => Error): Transform {
  let total = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      total += chunk.length;
      if (total > limit) return cb(onOver());
      cb(null, chunk);
    },
  });
}

/** Read the archive in `body` into the builder. Throws VfsError (400/413) on bad input. */
export async function readArchive(
  store: Store,
  body: ReadableStream<Uint8Array> | null,
  builder: DeployBuilder,
  limits: ArchiveLimits,
): Promise<ArchiveKind> {
  if (!body) throw new VfsError(400, "empty_archive", "the request body is empty; send a .tar, .tar.gz or .zip archive");
  const reader = body.getReader() as unknown as ByteReader;
  const head = await peek(reader, 512);
  if (head.length === 0) {
    reader.cancel().catch(() => {});
    throw new VfsError(400, "empty_archive", "the request body is empty; send a .tar, .tar.gz or .zip archive");
  }
  const kind = detectArchive(head);
  if (!kind) {
    reader.cancel().catch(() => {});
    throw new VfsError(415, "unsupported_archive", "the body is not a .tar, .tar.gz or .zip archive (detected by its first bytes)");
  }
  const bytes = bodyBytes(head, reader, archiveBudget(limits), () => budgetError(limits));
  try {
    if (kind === "zip") await readZip(store, bytes, builder, limits);
    else await readTar(bytes, kind === "tar.gz", builder, limits);
  } catch (err) {
    // Limits, and the database's own errors (a full disk, a deleted site), keep their meaning.
    if (err instanceof VfsError || err instanceof SQLiteError) throw err;
    throw badArchive(`cannot read the ${kind} archive: ${(err as Error).message}`);
  }
  return kind;
}

async function readTar(bytes: AsyncIterable<Uint8Array>, gzipped: boolean, builder: DeployBuilder, limits: ArchiveLimits): Promise<void> {
  const extract = tar.extract();
  const source = Readable.from(bytes, { objectMode: false });
  const stages = gzipped
    ? [source, createGunzip(), byteLimit(archiveBudget(limits), () => budgetError(limits)), extract]
    : [source, extract];
  // pipeline destroys every stage on the first error; the error reaches the loop below.
  (pipeline as (...s: unknown[]) => void)(...stages, (err: Error | null) => {
    if (err && !extract.destroyed) extract.destroy(err);
  });
  try {
    for await (const entry of extract) {
      await builder.breathe();
      const h = entry.header;
      if (h.type === "file" || h.type === "contiguous-file") {
        const path = builder.admit(h.name, h.size ?? 0);
        if (path === null) entry.resume();
        else await builder.addFile(path, entry as AsyncIterable<Uint8Array>);
      } else if (h.type === "directory") {
        entry.resume();
      } else if (h.type === "symlink" || h.type === "link") {
        throw badArchive(`${h.name} is a ${h.type === "link" ? "hard link" : "symbolic link"}; links are not allowed in a deploy`);
      } else {
        throw badArchive(`${h.name}: unsupported tar entry type "${h.type}"`);
      }
    }
  } finally {
    if (!source.destroyed) source.destroy();
  }
}

/**
 * The spool holds the zip encrypted (AES-256-CTR under a key that lives only in
 * this process for this upload): what it held, a `_headers` password before it
 * is hashed included, never lies in clear in the database's pages or WAL, even
 * after the spool is deleted. CTR allows random access: chunk `seq` starts at
 * counter block `seq * CHUNK_SIZE / 16`.
 */
class SpoolCipher {
  private readonly key = randomBytes(32);
  private readonly iv = randomBytes(16);

  encryptor(): Cipheriv {
    return createCipheriv("aes-256-ctr", this.key, this.iv);
  }

  decryptChunk(seq: number, data: Uint8Array): Uint8Array {
    const decipher = createDecipheriv("aes-256-ctr", this.key, this.counterAt((seq * CHUNK_SIZE) / 16));
    return Buffer.concat([decipher.update(data), decipher.final()]);
  }

  /** The initial counter block plus `blocks`, as a 128-bit big-endian number. */
  private counterAt(blocks: number): Buffer {
    const iv = Buffer.from(this.iv);
    let carry = BigInt(blocks);
    for (let i = 15; i >= 0 && carry > 0n; i--) {
      const sum = BigInt(iv[i]!) + (carry & 0xffn);
      iv[i] = Number(sum & 0xffn);
      carry = (carry >> 8n) + (sum >> 8n);
    }
    return iv;
  }
}

async function readZip(store: Store, bytes: AsyncIterable<Uint8Array>, builder: DeployBuilder, limits: ArchiveLimits): Promise<void> {
  const spool = new StagedBlob(store, builder.uploadId);
  const cipher = new SpoolCipher();
  const encrypt = cipher.encryptor();
  const gcHint = new GcHint();
  for await (const piece of bytes) {
    // The spool is written to fazt.db too: it counts toward the deploy size budget.
    builder.reserve(piece.length);
    spool.write(encrypt.update(piece));
    gcHint.add(piece.length);
    await builder.breathe();
  }
  const tail = encrypt.final();
  if (tail.length > 0) spool.write(tail);
  const { blobId, size } = spool.close();
  const zip = await yauzl.fromRandomAccessReaderPromise(new ChunkReader(store, blobId, size, cipher), size, {
    lazyEntries: true,
    validateEntrySizes: true,
    strictFileNames: true,
    autoClose: false,
  });
  try {
    // Before the first entry is read, yauzl's cursor is the directory's offset (its types call it a boolean).
    const directoryOffset = zip.readEntryCursor as unknown as number;
    assertDirectoryFits(zip.entryCount, directoryOffset, size);
    if (zip.entryCount > limits.maxFiles) {
      throw tooManyFiles(limits.maxFiles);
    }
    const extents = new Extents(directoryOffset);
    for await (const entry of zip.eachEntry() as AsyncIterable<yauzl.Entry>) {
      await builder.breathe();
      extents.add(entry);
      const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
      if (mode === 0o120000) throw badArchive(`${entry.fileName} is a symbolic link; links are not allowed in a deploy`);
      if (entry.fileName.endsWith("/")) continue;
      if (entry.isEncrypted()) throw badArchive(`${entry.fileName} is encrypted`);
      const path = builder.admit(entry.fileName, entry.uncompressedSize);
      if (path === null) continue;
      const stream = await zip.openReadStreamPromise(entry);
      await builder.addFile(path, checkCrc32(stream, entry.crc32, path));
    }
  } finally {
    zip.close();
  }
}

// The smallest central directory record (no name, extra field or comment).
const CENTRAL_RECORD_BYTES = 46;
// The smallest local header in front of an entry's data.
const LOCAL_HEADER_BYTES = 30;

/** The entry count the end record claims must fit between the directory's start and the end of the archive. */
function assertDirectoryFits(entryCount: number, directoryOffset: number, size: number): void {
  const room = size - directoryOffset;
  if (!Number.isSafeInteger(room) || room < 0) throw badArchive("the central directory starts past the end of the zip");
  if (entryCount * CENTRAL_RECORD_BYTES > room) {
    throw badArchive(
      `the zip claims ${entryCount} entries but its central directory holds at most ${Math.floor(room / CENTRAL_RECORD_BYTES)}`,
    );
  }
}

/**
 * The byte ranges entries occupy before the central directory. Ranges that
 * overlap are refused: that is how a zip makes many entries out of one
 * compressed kernel (a "non-recursive zip bomb").
 */
class Extents {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];

  constructor(private readonly directoryOffset: number) {}

  add(entry: yauzl.Entry): void {
    const start = entry.relativeOffsetOfLocalHeader;
    const end = start + LOCAL_HEADER_BYTES + entry.fileNameLength + entry.compressedSize;
    if (end > this.directoryOffset) throw badArchive(`${entry.fileName}: its data runs past the start of the central directory`);
    // The first range starting after this one, by binary search.
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! <= start) lo = mid + 1;
      else hi = mid;
    }
    if ((lo > 0 && this.ends[lo - 1]! > start) || (lo < this.starts.length && this.starts[lo]! < end)) {
      throw badArchive(`${entry.fileName}: its data overlaps another entry's`);
    }
    this.starts.splice(lo, 0, start);
    this.ends.splice(lo, 0, end);
  }
}

/** An entry's bytes, refused at their end unless their CRC-32 is the one the central directory records. */
async function* checkCrc32(stream: AsyncIterable<Uint8Array>, expected: number, path: string): AsyncGenerator<Uint8Array> {
  let crc = 0;
  for await (const piece of stream) {
    crc = Bun.hash.crc32(piece, crc);
    yield piece;
  }
  if (crc >>> 0 !== expected >>> 0) throw badArchive(`${path}: CRC-32 mismatch (the entry is corrupt)`);
}

/**
 * yauzl's random access over the spooled chunk rows, on the reader connection
 * (no mmap: the spool's pages should not stay resident). Members are read in
 * order and many share a chunk, so the last chunk read is kept. Every read is
 * bounded by the spool's real size: a read past it is an error, never a short
 * or empty answer that yauzl would ask for again.
 */
class ChunkReader extends yauzl.RandomAccessReader {
  private last: { seq: number; data: Uint8Array } | null = null;

  constructor(
    private readonly store: Store,
    private readonly blobId: number,
    private readonly size: number,
    private readonly cipher: SpoolCipher,
  ) {
    super();
  }

  override read(
    buffer: Buffer,
    offset: number,
    length: number,
    position: number,
    callback: (err: Error | null, bytesRead?: number) => void,
  ): void {
    try {
      this.assertRange(position, position + length);
      let written = 0;
      for (const piece of this.pieces(position, position + length)) {
        buffer.set(piece, offset + written);
        written += piece.length;
      }
      setImmediate(callback, null, written);
    } catch (err) {
      setImmediate(callback, err as Error);
    }
  }

  override _readStreamForRange(start: number, end: number): Readable {
    try {
      this.assertRange(start, end);
    } catch (err) {
      const failed = new Readable({ read() {} });
      setImmediate(() => failed.destroy(err as Error));
      return failed;
    }
    return Readable.from(this.pieces(start, end), { objectMode: false });
  }

  private assertRange(start: number, end: number): void {
    if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && 0 <= start && start <= end && end <= this.size)) {
      throw badArchive(`the zip points at bytes ${start}..${end}, outside its ${this.size} bytes`);
    }
  }

  /** The bytes [start, end) as views into chunk rows; start..end lies within the spool. */
  private *pieces(start: number, end: number): Generator<Uint8Array> {
    for (let pos = start; pos < end; ) {
      const seq = Math.floor(pos / CHUNK_SIZE);
      const data = this.chunk(seq);
      const from = pos - seq * CHUNK_SIZE;
      const to = Math.min(data.length, end - seq * CHUNK_SIZE);
      if (to <= from) throw badArchive(`spooled chunk ${seq} is shorter than the zip's size says`);
      yield Buffer.from(data.buffer, data.byteOffset + from, to - from);
      pos += to - from;
    }
  }

  private chunk(seq: number): Uint8Array {
    if (this.last?.seq === seq) return this.last.data;
    const row = this.store.read.query("SELECT data FROM chunks WHERE blob_id = ? AND seq = ?").get(this.blobId, seq) as {
      data: Uint8Array;
    } | null;
    if (!row) throw new Error(`spooled chunk ${seq} missing`);
    this.last = { seq, data: this.cipher.decryptChunk(seq, row.data) };
    return this.last.data;
  }
}
