// How long the event loop is held. A 10 ms timer measures how late it runs
// (wall clock) and how much CPU the main thread used meanwhile: the smaller
// of the two is time the loop was really busy, without the time the OS gave
// the CPU to other processes (on a shared machine, wall-clock lateness alone
// mostly measures the neighbours). Worst and p99 since the previous scrape,
// reset at each scrape, so one scraper should read them.
import type { Registry } from "./registry.ts";

const TICK_MS = 10;
/** Histogram buckets of 1 ms; longer delays count in the last one (the max is exact). */
const BUCKETS = 1000;

class DelayStats {
  private counts = new Uint32Array(BUCKETS + 1);
  private n = 0;
  max = 0;

  add(ms: number): void {
    this.counts[Math.min(BUCKETS, Math.floor(ms))]!++;
    this.n++;
    if (ms > this.max) this.max = ms;
  }

  percentile(p: number): number {
    let seen = 0;
    const want = Math.ceil((p / 100) * this.n);
    for (let i = 0; i <= BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= want && seen > 0) return Math.min(i + 1, this.max);
    }
    return 0;
  }

  reset(): void {
    this.counts.fill(0);
    this.n = 0;
    this.max = 0;
  }
}

function cpuMs(): number {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
}

/** Start measuring; returns the stop function. */
export function trackEventLoop(registry: Registry): () => void {
  const wall = new DelayStats();
  const busy = new DelayStats();
  let lastWall = performance.now();
  let lastCpu = cpuMs();
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = cpuMs();
    const late = Math.max(0, now - lastWall - TICK_MS);
    wall.add(late);
    busy.add(Math.min(late, cpu - lastCpu));
    lastWall = now;
    lastCpu = cpu;
  }, TICK_MS);
  timer.unref();
  const gauge = (name: string, help: string) => registry.gauge(name, help).labels();
  const gauges = {
    wallMax: gauge("fazt_event_loop_delay_max_seconds", "Longest event-loop delay (wall clock) since the previous scrape."),
    wallP99: gauge("fazt_event_loop_delay_p99_seconds", "99th percentile of event-loop delay (wall clock) since the previous scrape."),
    busyMax: gauge("fazt_event_loop_busy_max_seconds", "Longest event-loop delay the main thread spent on the CPU, since the previous scrape."),
    busyP99: gauge("fazt_event_loop_busy_p99_seconds", "99th percentile of event-loop delay spent on the CPU, since the previous scrape."),
  };
  registry.onCollect(() => {
    gauges.wallMax.set(wall.max / 1000);
    gauges.wallP99.set(wall.percentile(99) / 1000);
    gauges.busyMax.set(busy.max / 1000);
    gauges.busyP99.set(busy.percentile(99) / 1000);
    wall.reset();
    busy.reset();
  });
  return () => clearInterval(timer);
}
