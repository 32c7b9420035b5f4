// Site traffic analytics: the request path records a raw hit into a bounded
// buffer; a background flusher writes events, hourly rollups and daily breakdowns; a pruner
// trims raw events past the retention window. See docs/ARCHITECTURE.md.
import type { Store } from "../db/index.ts";
import type { ServerConfig } from "../core/config.ts";
import type { Registry } from "../metrics/registry.ts";
import { log } from "../log/index.ts";
import { DEFAULT_RECORDER, Recorder, type RecorderOptions } from "./recorder.ts";
import { EventWriter } from "./writer.ts";
import { pruneEvents } from "./prune.ts";
import { pathStart } from "../serve/http.ts";

export { siteReport, viewsToday, type AnalyticsReport } from "./query.ts";
export { parseDay, formatDay, dayOf } from "./days.ts";

const MAX_FIELD = 512; // longest path, referrer or User-Agent kept
const PRUNE_EVERY_MS = 10 * 60_000;
const PRUNE_FIRST_MS = 5_000;

export class Analytics {
  readonly recorder: Recorder;
  private pruneTimer: ReturnType<typeof setTimeout> | null = null;
  private pruning: Promise<unknown> | null = null;
  private closed = false;

  constructor(
    private readonly app: AnalyticsDeps,
    options: RecorderOptions = DEFAULT_RECORDER,
  ) {
    const writer = new EventWriter(app.store);
    this.recorder = new Recorder((batch) => writer.write(batch), options);
    const m = app.metrics;
    const buffered = m.gauge("fazt_analytics_buffered_events", "Analytics events in memory, not yet written.").labels();
    const rows = m.gauge("fazt_analytics_buffered_rows", "Distinct analytics rows in memory (identical events share one), bounded by the capacity.").labels();
    const capacity = m.gauge("fazt_analytics_buffer_capacity", "Most distinct analytics rows held in memory before events needing a new row are dropped.").labels();
    const bytes = m.gauge("fazt_analytics_buffered_bytes", "Estimated memory of the analytics rows held (bounded too).").labels();
    const dropped = m.counter("fazt_analytics_dropped_events_total", "Analytics events dropped (buffer full, or write failed at shutdown).").labels();
    const written = m.counter("fazt_analytics_written_events_total", "Analytics events written to the database.").labels();
    const lastWrite = m.gauge("fazt_analytics_last_write_seconds", "Duration of the last analytics batch write.").labels();
    const writeTime = m.counter("fazt_analytics_write_seconds_total", "Time spent writing analytics batches (the event loop is busy meanwhile).").labels();
    const maxWrite = m.gauge("fazt_analytics_max_write_seconds", "Longest analytics batch write since start (the event loop waits this long).").labels();
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
    });
  }

  start(): void {
    this.recorder.start();
    const loop = (delay: number) => {
      this.pruneTimer = setTimeout(() => {
        this.pruning = this.prune()
          .catch((err) => log.warn("analytics: pruning failed", { err: err as Error }))
          .finally(() => loop(PRUNE_EVERY_MS));
      }, delay);
      this.pruneTimer.unref?.();
    };
    loop(PRUNE_FIRST_MS);
  }

  prune(now = Date.now()): Promise<number> {
    return pruneEvents(this.app.store, this.app.config.analytics.retentionDays, now, { stopped: () => this.closed });
  }

  /** The request path: one small object folded into the recorder's tallies. */
  record(req: Request, status: number, bytes: number, ip: string, host: string, siteId: number): void {
    const url = req.url;
    const start = pathStart(url);
    const q = url.indexOf("?", start);
    const path = start < 0 ? "/" : q < 0 ? url.slice(start) : url.slice(start, q);
    this.recorder.record({
      ts: Date.now(),
      siteId,
      host,
      path: path.length > MAX_FIELD ? path.slice(0, MAX_FIELD) : path,
      status,
      bytes: req.method === "HEAD" ? 0 : bytes,
      referrer: clip(req.headers.get("referer")),
      ua: clip(req.headers.get("user-agent")) ?? "",
      ip,
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
}

function clip(v: string | null): string | null {
  return v !== null && v.length > MAX_FIELD ? v.slice(0, MAX_FIELD) : v;
}

/**
 * With --trust-proxy, the client address our proxy added: the last X-Forwarded-For hop.
 * Null when absent; then the peer address counts (looked up only then: it costs ~1 µs).
 */
export function forwardedClient(req: Request): string | null {
  const xff = req.headers.get("x-forwarded-for");
  if (!xff) return null;
  return xff.slice(xff.lastIndexOf(",") + 1).trim() || null;
}

/** What analytics uses of the running server (server/App provides it). */
export interface AnalyticsDeps {
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
