// A consistent snapshot of a live WAL database, streamed page by page without
// writing any file and without holding more than one batch of pages in memory.
//
// Bun's SQLite has neither the backup API (only serialize(), all in memory)
// nor the sqlite_dbpage table, so the snapshot is assembled from the files:
// a read transaction on a dedicated connection pins a WAL snapshot (frames
// 1..M). While it is open, SQLite never restarts the WAL and checkpoints copy
// only frames <= M into the database file, so every page is either the newest
// of frames 1..M that holds it, or else untouched in the database file. M is
// read from the WAL index (-shm) while a write lock is held for a moment, so
// no commit can slip between pinning the snapshot and reading M.
import { Database } from "bun:sqlite";
import { closeSync, existsSync, openSync, readSync } from "node:fs";

const WAL_HEADER = 32;
const FRAME_HEADER = 24;
const CHUNK_BYTES = 1024 * 1024; // pages read per pull; the memory a stream holds
const LOCK_TRIES = 200; // x 10 ms: another process's write transaction
const INDEX_BLOCK = 4 * 1024 * 1024; // WAL bytes scanned between yields to the event loop

class SnapshotError extends Error {}

interface DbSnapshot {
  pageSize: number;
  pageCount: number;
  /** Size of the snapshot file: pageSize x pageCount. */
  bytes: number;
  /** WAL frames the snapshot includes. */
  walFrames: number;
  /** The pages in order; ends (and releases the snapshot) when read to the end or cancelled. */
  stream(): ReadableStream<Uint8Array>;
  /** Release the read transaction and files (idempotent; calls onClose once, saying whether every page was read). */
  close(): void;
}

interface WalPin {
  mxFrame: number;
  salt: Buffer;
}

/** Pin a snapshot of the database at path (a Fazt database in WAL mode). */
interface SnapshotOptions {
  /** Called once when the snapshot is released, saying whether every page was read. */
  onClose?: (complete: boolean) => void;
  /**
   * Most bytes per second the stream yields: after a chunk it sleeps until the
   * average rate is back under this, so a backup inside the server leaves the
   * event loop (and the machine) to requests. Unset: as fast as it is read.
   */
  maxBytesPerSecond?: number;
}

export async function openSnapshot(path: string, opts: SnapshotOptions = {}): Promise<DbSnapshot> {
  const { onClose, maxBytesPerSecond } = opts;
  const reader = new Database(path, { readonly: true });
  const fds: number[] = [];
  let closed = false;
  let next = 1;
  let pageCount = 0;
  const close = () => {
    if (closed) return;
    closed = true;
    onClose?.(pageCount > 0 && next > pageCount);
    for (const fd of fds) closeSync(fd);
    try {
      reader.run("ROLLBACK");
    } catch {
      // no transaction open (failed before BEGIN)
    }
    reader.close();
  };
  try {
    reader.run("PRAGMA busy_timeout = 0");
    const wal = (reader.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode === "wal";
    const pin = await pinSnapshot(path, reader, wal);
    const pageSize = (reader.query("PRAGMA page_size").get() as { page_size: number }).page_size;
    pageCount = (reader.query("PRAGMA page_count").get() as { page_count: number }).page_count;
    const dbFd = openSync(path, "r");
    fds.push(dbFd);
    let walFd = -1;
    let frames = new Map<number, number>();
    if (pin.mxFrame > 0) {
      walFd = openSync(`${path}-wal`, "r");
      fds.push(walFd);
      frames = await indexFrames(walFd, pageSize, pin);
    }
    const pagesPerChunk = Math.max(1, Math.floor(CHUNK_BYTES / pageSize));
    const readPage = (pgno: number, into: Buffer, at: number) => {
      const frame = frames.get(pgno);
      const [fd, pos] =
        frame !== undefined ? [walFd, WAL_HEADER + frame * (FRAME_HEADER + pageSize) + FRAME_HEADER] : [dbFd, (pgno - 1) * pageSize];
      const n = readSync(fd, into, at, pageSize, pos);
      if (n !== pageSize) throw new SnapshotError(`page ${pgno} is missing (read ${n} of ${pageSize} bytes)`);
    };
    return {
      pageSize,
      pageCount,
      bytes: pageSize * pageCount,
      walFrames: pin.mxFrame,
      close,
      stream: () => {
        const streamStarted = performance.now();
        return new ReadableStream<Uint8Array>(
          {
            async pull(controller) {
              try {
                const n = Math.min(pagesPerChunk, pageCount - next + 1);
                const buf = Buffer.allocUnsafe(n * pageSize);
                for (let i = 0; i < n; i++) readPage(next + i, buf, i * pageSize);
                next += n;
                controller.enqueue(buf);
                if (next > pageCount) {
                  close();
                  controller.close();
                  return;
                }
              } catch (err) {
                close();
                controller.error(err);
                return;
              }
              if (maxBytesPerSecond) {
                const due = ((next - 1) * pageSize * 1000) / maxBytesPerSecond; // ms since start this much may take
                const ahead = due - (performance.now() - streamStarted);
                if (ahead > 0) await Bun.sleep(ahead);
              }
            },
            cancel: close,
          },
          { highWaterMark: 0 },
        );
      },
    };
  } catch (err) {
    close();
    throw err;
  }
}

/**
 * Open the read transaction with no commit in flight, and read which WAL
 * frames it sees. Without a WAL (or with an empty one) the database file alone
 * is the snapshot, kept still by the read lock.
 */
async function pinSnapshot(path: string, reader: Database, wal: boolean): Promise<WalPin> {
  const none: WalPin = { mxFrame: 0, salt: Buffer.alloc(8) };
  if (!wal || !existsSync(`${path}-shm`)) {
    reader.run("BEGIN");
    reader.query("SELECT count(*) FROM sqlite_master").get();
    return none;
  }
  const locker = new Database(path, { readwrite: true });
  try {
    locker.run("PRAGMA busy_timeout = 0"); // never block the event loop: retry below instead
    for (let attempt = 0; ; attempt++) {
      try {
        locker.run("BEGIN IMMEDIATE");
        break;
      } catch (err) {
        if (attempt >= LOCK_TRIES || !/locked|busy/i.test((err as Error).message)) throw err;
        await Bun.sleep(10);
      }
    }
    try {
      reader.run("BEGIN");
      reader.query("SELECT count(*) FROM sqlite_master").get();
      return readWalIndexHeader(`${path}-shm`);
    } finally {
      locker.run("ROLLBACK");
    }
  } finally {
    locker.close();
  }
}

/** mxFrame and the salt from the WAL index header (two copies; equal while the write lock is held). */
function readWalIndexHeader(shmPath: string): WalPin {
  const fd = openSync(shmPath, "r");
  try {
    const hdr = Buffer.alloc(96);
    if (readSync(fd, hdr, 0, 96, 0) !== 96) throw new SnapshotError("WAL index is too short");
    if (!hdr.subarray(0, 48).equals(hdr.subarray(48, 96))) throw new SnapshotError("WAL index header copies differ");
    // WalIndexHdr: native-endian u32 mxFrame at 16; aSalt, raw bytes of the WAL header's salt, at 32.
    const le = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
    return { mxFrame: le ? hdr.readUInt32LE(16) : hdr.readUInt32BE(16), salt: Buffer.from(hdr.subarray(32, 40)) };
  } finally {
    closeSync(fd);
  }
}

/** page number -> index of its newest frame among frames 0..mxFrame-1 of the current WAL generation. */
async function indexFrames(walFd: number, pageSize: number, pin: WalPin): Promise<Map<number, number>> {
  const frameSize = FRAME_HEADER + pageSize;
  const perBlock = Math.max(1, Math.floor(INDEX_BLOCK / frameSize));
  const block = Buffer.allocUnsafe(perBlock * frameSize);
  const frames = new Map<number, number>();
  for (let first = 0; first < pin.mxFrame; first += perBlock) {
    const count = Math.min(perBlock, pin.mxFrame - first);
    const n = readSync(walFd, block, 0, count * frameSize, WAL_HEADER + first * frameSize);
    if (n < count * frameSize) throw new SnapshotError(`WAL is shorter than its index says (frame ${first + Math.floor(n / frameSize)})`);
    for (let i = 0; i < count; i++) {
      const at = i * frameSize;
      if (!block.subarray(at + 8, at + 16).equals(pin.salt))
        throw new SnapshotError(`WAL frame ${first + i} is not of the current generation`);
      frames.set(block.readUInt32BE(at), first + i);
    }
    await Bun.sleep(0);
  }
  return frames;
}
