// The hot path's side of analytics: record() folds a document hit into an
// in-memory row (identical hits of one flush interval become one row with a
// count); count() adds any other request to a per site, path class, status and
// bot flag tally (a number-keyed map update, no allocation once the tally
// exists). Neither blocks. A background flusher writes rows and tallies in batches
// (every interval, or sooner once a batch is full), one transaction per
// batch, yielding to the event loop between batches so serving never waits
// long. Memory is bounded by distinct rows held and their bytes: past that,
// new rows are dropped and counted, never queued.
import { nextTurn } from "../core/breather.ts";
import { log } from "../log/index.ts";
import { HOUR_MS } from "./days.ts";
import type { Hit, Row, Tally } from "./writer.ts";

export interface RecorderOptions {
  /** Most distinct rows held in memory; past this, hits that need a new row are dropped (and counted). */
  capacity: number;
  /** Most bytes those rows may take (estimated); the same applies past it. */
  maxBytes?: number;
  /** Most rows per write transaction; a full batch triggers a flush. */
  batchSize: number;
  /** Longest a hit waits in memory before it is written (ms). */
  intervalMs: number;
}

export const DEFAULT_RECORDER: RecorderOptions = { capacity: 50_000, maxBytes: 24 * 1024 * 1024, batchSize: 500, intervalMs: 1000 };
/** Bookkeeping bytes of a row besides its strings (the object, the map entry). */
const ROW_OVERHEAD = 200;

type BatchSink = (batch: readonly Row[]) => void;

/** Hits that may share a row: alike in everything but time, bytes and count. */
function rowKey(h: Hit): string {
  return `${h.siteId}\n${h.status}\n${h.path}\n${h.ip}\n${h.ua}\n${h.referrer ?? ""}\n${h.host}`;
}

/** What a held row costs in memory, roughly: its strings twice (the row and its key) and the overhead. */
function rowBytes(h: Row): number {
  if (h.kind === "tally") return ROW_OVERHEAD;
  return ROW_OVERHEAD + 2 * (h.path.length + h.ip.length + h.ua.length + (h.referrer?.length ?? 0) + h.host.length);
}

/** One number per (site, path class, status, bot flag): statuses are below 1024, path classes below 16. */
function countKey(siteId: number, pathClass: number, status: number, bot: boolean): number {
  return ((siteId * 16 + pathClass) * 1024 + status) * 2 + (bot ? 1 : 0);
}

function alike(a: Hit, b: Hit): boolean {
  return (
    a.siteId === b.siteId &&
    a.status === b.status &&
    a.path === b.path &&
    a.ip === b.ip &&
    a.ua === b.ua &&
    a.referrer === b.referrer &&
    a.host === b.host
  );
}

export class Recorder {
  /** Rows still taking hits, by rowKey. */
  private current = new Map<string, Hit>();
  /** Tallies still counting, by countKey. */
  private tallies = new Map<number, Tally>();
  /** The row the last hit went to, while it is in `current`. */
  private last: Hit | null = null;
  /** Hits at or after this time start new rows: a row never spans two UTC hours. */
  private rollAt = 0;
  /** Rows taken off `current`, oldest first; those before pendingAt are written. */
  private pending: Row[] = [];
  private pendingAt = 0;
  /** Hits held in memory (in current and the unwritten part of pending), and the bytes of their rows. */
  private held = 0;
  private heldBytes = 0;
  private timer: ReturnType<typeof setInterval> | null = null;
  private flushing = false;
  private soon = false;
  private closed = false;
  /** Hits dropped because memory was full, or lost with a failed write at shutdown. */
  dropped = 0;
  /** Hits handed to the sink successfully. */
  written = 0;
  /** How long the last batch write took, and the longest so far (ms). */
  lastWriteMs = 0;
  maxWriteMs = 0;
  /** Time spent writing batches since start (ms): the event loop's share of analytics. */
  totalWriteMs = 0;

  constructor(
    private readonly sink: BatchSink,
    readonly options: RecorderOptions = DEFAULT_RECORDER,
  ) {}

  /** Hits in memory, waiting to be written. */
  get buffered(): number {
    return this.held;
  }

  /** Estimated bytes of the rows held. */
  get bytes(): number {
    return this.heldBytes;
  }

  /** Distinct rows in memory, waiting to be written (bounded by capacity). */
  get rows(): number {
    return this.current.size + this.tallies.size + this.pending.length - this.pendingAt;
  }

  start(): void {
    this.timer = setInterval(() => void this.flush(), this.options.intervalMs);
    this.timer.unref?.();
  }

  /** A document request: a map lookup, never blocks, never grows past capacity. Takes ownership of hit. */
  record(hit: Hit): void {
    if (this.closed) {
      this.dropped += hit.hits;
      return;
    }
    if (hit.ts >= this.rollAt) this.newHour(hit.ts);
    // Traffic repeats (a page's reloads, scanners, floods): the last row is checked first, without a key.
    let row = this.last;
    if (row === null || !alike(row, hit)) row = this.rowFor(hit);
    if (row === null) return;
    if (row !== hit) {
      row.hits += hit.hits;
      row.bytes += hit.bytes;
    }
    this.last = row;
    this.held += hit.hits;
  }

  /** Any other request: added to its tally (made on first use; a handful per site). */
  count(ts: number, siteId: number, pathClass: number, status: number, bot: boolean, bytes: number): void {
    if (this.closed) {
      this.dropped++;
      return;
    }
    if (ts >= this.rollAt) this.newHour(ts);
    const key = countKey(siteId, pathClass, status, bot);
    const tally = this.tallies.get(key);
    if (tally !== undefined) {
      tally.hits++;
      tally.bytes += bytes;
    } else {
      if (this.rows >= this.options.capacity || this.heldBytes + ROW_OVERHEAD > (this.options.maxBytes ?? Infinity)) {
        this.dropped++;
        return;
      }
      const hourStart = Math.floor(ts / HOUR_MS) * HOUR_MS;
      this.tallies.set(key, { kind: "tally", ts: hourStart, siteId, pathClass, status, bot, hits: 1, bytes });
      this.heldBytes += ROW_OVERHEAD;
    }
    this.held++;
  }

  /** A row or tally never spans two UTC hours: the held ones are taken for writing. */
  private newHour(ts: number): void {
    if (this.current.size > 0 || this.tallies.size > 0) {
      this.takeCurrent();
      this.flushSoon();
    }
    this.rollAt = (Math.floor(ts / HOUR_MS) + 1) * HOUR_MS;
  }

  /** The held row hit folds into, or hit itself as a new row; null when memory is full (hit dropped). */
  private rowFor(hit: Hit): Hit | null {
    const key = rowKey(hit);
    const row = this.current.get(key);
    if (row !== undefined) return row;
    const bytes = rowBytes(hit);
    if (this.rows >= this.options.capacity || this.heldBytes + bytes > (this.options.maxBytes ?? Infinity)) {
      this.dropped += hit.hits;
      return null;
    }
    this.heldBytes += bytes;
    this.current.set(key, hit);
    if (this.current.size >= this.options.batchSize) this.flushSoon();
    return hit;
  }

  /** Write everything held now, a batch per transaction, yielding between batches. */
  async flush(): Promise<void> {
    this.soon = false;
    if (this.flushing) return;
    this.takeCurrent();
    if (this.pendingAt >= this.pending.length) return;
    this.flushing = true;
    try {
      let first = true;
      while (this.pendingAt < this.pending.length) {
        if (!first) await nextTurn();
        first = false;
        if (this.closed) return; // close() wrote the rest
        if (!this.writeNext()) {
          // Kept for the next flush.
          this.pending = this.pending.slice(this.pendingAt);
          this.pendingAt = 0;
          return;
        }
      }
      this.pending = [];
      this.pendingAt = 0;
    } finally {
      this.flushing = false;
    }
  }

  /** Shutdown: stop taking hits and write all that are held, synchronously. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.takeCurrent();
    while (this.pendingAt < this.pending.length) {
      if (this.writeNext()) continue;
      this.dropped += this.held;
      log.error("analytics: events lost at shutdown", { events: this.held });
      break;
    }
    this.pending = [];
    this.pendingAt = 0;
    this.held = 0;
    this.heldBytes = 0;
  }

  private flushSoon(): void {
    if (this.soon || this.flushing) return;
    this.soon = true;
    setImmediate(() => void this.flush());
  }

  /** Move the rows and tallies taking hits to the pending list (a flush, or a new hour). */
  private takeCurrent(): void {
    if (this.current.size > 0) {
      for (const row of this.current.values()) this.pending.push(row);
      this.current = new Map();
      this.last = null;
    }
    if (this.tallies.size > 0) {
      for (const tally of this.tallies.values()) this.pending.push(tally);
      this.tallies = new Map();
    }
  }

  /** Write the next batch of pending rows; false when the write failed (they stay pending). */
  private writeNext(): boolean {
    const batch = this.pending.slice(this.pendingAt, this.pendingAt + this.options.batchSize);
    const t0 = performance.now();
    try {
      this.sink(batch);
    } catch (err) {
      log.warn("analytics: batch write failed; will retry", { err: err as Error, rows: batch.length });
      return false;
    } finally {
      this.lastWriteMs = performance.now() - t0;
      this.totalWriteMs += this.lastWriteMs;
      if (this.lastWriteMs > this.maxWriteMs) this.maxWriteMs = this.lastWriteMs;
    }
    this.pendingAt += batch.length;
    let hits = 0;
    for (const row of batch) {
      hits += row.hits;
      this.heldBytes -= rowBytes(row);
    }
    this.written += hits;
    this.held -= hits;
    return true;
  }
}
