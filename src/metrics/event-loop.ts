// How long the event loop was held: a timer due every 5 ms records how late it
// fires. The gauges answer since the previous scrape (then start over), so one
// request that blocks is visible even between scrapes.
//
// Lateness is wall-clock time: on a shared machine it also counts the time the
// OS gave the CPU to other processes. The "busy" gauges bound each lateness by
// the CPU the main thread used meanwhile, which is the time the loop was
// really held by this process (a request, a deploy, GC).
import type { Registry } from "./registry.ts";

const TICK_MS = 5;
/** Histogram buckets of 1 ms for the busy p99; longer holds count in the last one (the max is exact). */
const BUCKETS = 1000;

function cpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

class Holds {
  private counts = new Uint32Array(BUCKETS + 1);
  private n = 0;
  max = 0;

  add(ms: number): void {
    this.counts[Math.min(BUCKETS, Math.floor(ms))]!++;
    this.n++;
    if (ms > this.max) this.max = ms;
  }

  p99(): number {
    const want = Math.ceil(0.99 * this.n);
    let seen = 0;
    for (let i = 0; i <= BUCKETS && this.n > 0; i++) {
      seen += this.counts[i]!;
      if (seen >= want) return Math.min(i + 1, this.max);
    }
    return 0;
  }

  reset(): void {
    this.counts.fill(0);
    this.n = 0;
    this.max = 0;
  }
}

/** Start watching; returns the function that stops it. */
export function watchEventLoop(registry: Registry): () => void {
  const gauge = registry.gauge(
    "fazt_event_loop_lag_max_seconds",
    "Worst event-loop delay since the previous scrape (a 5 ms timer's lateness).",
  );
  const busyMax = registry.gauge(
    "fazt_event_loop_busy_max_seconds",
    "Worst event-loop delay since the previous scrape, bounded by the main thread's CPU time meanwhile.",
  );
  const busyP99 = registry.gauge("fazt_event_loop_busy_p99_seconds", "99th percentile of the same since the previous scrape.");
  const busy = new Holds();
  let worst = 0;
  let due = performance.now() + TICK_MS;
  let cpu = cpuMs();
  const sample = () => {
    const now = performance.now();
    const nowCpu = cpuMs();
    const late = Math.max(0, now - due);
    worst = Math.max(worst, late);
    busy.add(Math.min(late, nowCpu - cpu));
    due = now + TICK_MS;
    cpu = nowCpu;
  };
  const timer = setInterval(sample, TICK_MS);
  timer.unref();
  registry.onCollect(() => {
    // A scrape that comes right after a hold may be answered before the late
    // timer runs (I/O first): it samples too, or that hold would be missed.
    sample();
    gauge.labels().set(worst / 1000);
    busyMax.labels().set(busy.max / 1000);
    busyP99.labels().set(busy.p99() / 1000);
    worst = 0;
    busy.reset();
  });
  return () => clearInterval(timer);
}
