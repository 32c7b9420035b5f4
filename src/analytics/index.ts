// Site traffic analytics: the request path records a document hit (with its
// client) or counts any other request into a bounded buffer; a background
// flusher writes events, hourly rollups, per-class counts and daily
// breakdowns; a pruner trims raw events past the retention window and the
// byte budget. See docs/ARCHITECTURE.md.
import type { Store } from "../db/index.ts";
import type { ServerConfig } from "../core/config.ts";
import type { Registry } from "../metrics/registry.ts";
import { log } from "../log/index.ts";
import { clientAddress, type PeerLookup } from "../http/client.ts";
import { pathStart, CLASS_PAGE } from "../serve/http.ts";
import { DEFAULT_RECORDER, Recorder, type RecorderOptions } from "./recorder.ts";
import { EventWriter } from "./writer.ts";
import { isBotAgent } from "./classify.ts";
import { pruneEvents } from "./prune.ts";

export { siteReport, viewsToday, type AnalyticsReport } from "./query.ts";
export { parseDay, dayOf } from "./days.ts";

const MAX_FIELD = 512; // longest path, referrer or User-Agent kept
const PRUNE_EVERY_MS = 10 * 60_000;
const PRUNE_FIRST_MS = 5_000;

/** One answered site request, as the site request path hands it to analytics. */
interface SiteHit {
  req: Request;
  /** The listener that took the request: the client address is looked up from it for documents only. */
  server: PeerLookup;
  siteId: number;
  /** The Host the request named (normalised), to tell self-referrals. */
  host: string;
  status: number;
  /** Body bytes sent. */
  bytes: number;
  /** PATH_CLASSES index of what was served. */
  pathClass: number;
}

export class Analytics {
  readonly recorder: Recorder;
  private readonly writer: EventWriter;
  private readonly trustProxy: boolean;
  private pruneTimer: ReturnType<typeof setTimeout> | null = null;
  private pruning: Promise<unknown> | null = null;
  private closed = false;

  constructor(
    private readonly app: AnalyticsDeps,
    options: RecorderOptions = DEFAULT_RECORDER,
  ) {
    this.trustProxy = app.config.trustProxy;
    this.writer = new EventWriter(app.store);
    this.recorder = new Recorder((batch) => {
      this.writer.write(batch);
      // Over the byte budget: trim now rather than at the next scheduled prune.
      if (this.writer.eventBytes > app.config.analytics.maxBytes) this.pruneNow();
    }, options);
    const m = app.metrics;
    const buffered = m.gauge("fazt_analytics_buffered_events", "Analytics events in memory, not yet written.").labels();
    const rows = m
      .gauge("fazt_analytics_buffered_rows", "Distinct analytics rows in memory (identical events share one), bounded by the capacity.")
      .labels();
    const capacity = m
      .gauge("fazt_analytics_buffer_capacity", "Most distinct analytics rows held in memory before events needing a new row are dropped.")
      .labels();
    const bytes = m.gauge("fazt_analytics_buffered_bytes", "Estimated memory of the analytics rows held (bounded too).").labels();
    const dropped = m
      .counter("fazt_analytics_dropped_events_total", "Analytics events dropped (buffer full, or write failed at shutdown).")
      .labels();
    const written = m.counter("fazt_analytics_written_events_total", "Analytics events written to the database.").labels();
    const lastWrite = m.gauge("fazt_analytics_last_write_seconds", "Duration of the last analytics batch write.").labels();
    const writeTime = m
      .counter("fazt_analytics_write_seconds_total", "Time spent writing analytics batches (the event loop is busy meanwhile).")
      .labels();
    const maxWrite = m
      .gauge("fazt_analytics_max_write_seconds", "Longest analytics batch write since start (the event loop waits this long).")
      .labels();
    const stored = m
      .gauge("fazt_analytics_event_bytes", "Estimated bytes of the raw analytics events stored (bounded by --analytics-max-bytes).")
      .labels();
    m.onCollect(() => {
      buffered.set(this.recorder.buffered);
      rows.set(this.recorder.rows);
      bytes.set(this.recorder.bytes);
      capacity.set(this.recorder.options.capacity);
      dropped.value = this.recorder.dropped;
      written.value = this.recorder.written;
      lastWrite.set(this.recorder.lastWriteMs / 1000);
      maxWrite.set(this.recorder.maxWriteMs / 1000);
      writeTime.value = this.recorder.totalWriteMs / 1000;
      stored.set(this.writer.eventBytes);
    });
  }

  start(): void {
    this.recorder.start();
    this.schedulePrune(PRUNE_FIRST_MS);
  }

  prune(now = Date.now()): Promise<number> {
    const { retentionDays, maxBytes } = this.app.config.analytics;
    return pruneEvents(this.app.store, { retentionDays, maxBytes }, now, { stopped: () => this.closed });
  }

  /**
   * The request path. Documents (HTML 200/304) become a hit with the client's
   * address, User-Agent and Referer; every other request only adds to a tally
   * (no address lookup: that syscall is most of what counting costs).
   */
  record(hit: SiteHit): void {
    const req = hit.req;
    const ua = clip(req.headers.get("user-agent")) ?? "";
    if (hit.pathClass !== CLASS_PAGE || (hit.status !== 200 && hit.status !== 304)) {
      this.recorder.count(Date.now(), hit.siteId, hit.pathClass, hit.status, isBotAgent(ua), hit.bytes);
      return;
    }
    const url = req.url;
    const start = pathStart(url);
    const q = url.indexOf("?", start);
    const path = start < 0 ? "/" : q < 0 ? url.slice(start) : url.slice(start, q);
    this.recorder.record({
      kind: "hit",
      ts: Date.now(),
      siteId: hit.siteId,
      host: hit.host,
      path: path.length > MAX_FIELD ? path.slice(0, MAX_FIELD) : path,
      status: hit.status,
      bytes: hit.bytes,
      referrer: clip(req.headers.get("referer")),
      ua,
      ip: clientAddress(req, hit.server, this.trustProxy),
      hits: 1,
    });
  }

  /** Shutdown: stop pruning, wait for a running prune batch, write every buffered event. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pruneTimer) clearTimeout(this.pruneTimer);
    this.pruneTimer = null;
    this.recorder.close();
    await this.pruning;
  }

  private schedulePrune(delay: number): void {
    if (this.closed) return;
    this.pruneTimer = setTimeout(() => this.pruneNow(), delay);
    this.pruneTimer.unref?.();
  }

  /** Prune unless a prune is running; the next scheduled one follows PRUNE_EVERY_MS after. */
  private pruneNow(): void {
    if (this.pruning || this.closed) return;
    if (this.pruneTimer) clearTimeout(this.pruneTimer);
    this.pruning = this.prune()
      .catch((err) => log.warn("analytics: pruning failed", { err: err as Error }))
      .finally(() => {
        this.pruning = null;
        this.schedulePrune(PRUNE_EVERY_MS);
      });
  }
}

function clip(v: string | null): string | null {
  return v !== null && v.length > MAX_FIELD ? v.slice(0, MAX_FIELD) : v;
}

/** What analytics uses of the running server (server/App provides it). */
interface AnalyticsDeps {
  readonly store: Store;
  readonly config: Readonly<ServerConfig>;
  readonly metrics: Registry;
  onShutdown(fn: () => Promise<void> | void): void;
}

/** Analytics for a server, started, flushed on shutdown; null when turned off. */
export function startAnalytics(app: AnalyticsDeps, options?: RecorderOptions): Analytics | null {
  if (!app.config.analytics.enabled) return null;
  const analytics = new Analytics(app, options);
  analytics.start();
  app.onShutdown(() => analytics.close());
  return analytics;
}
