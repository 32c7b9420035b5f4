// Process-level gauges read at each scrape: resident memory, event-loop lag,
// and the size of the database file and its WAL.
import { statSync } from "node:fs";
import type { Registry } from "./registry.ts";

const LAG_PROBE_MS = 250;

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // no WAL at the moment
  }
}

/** Register the gauges; returns a function that stops the lag probe. */
export function registerProcessMetrics(registry: Registry, dbPath: string): () => void {
  const rss = registry.gauge("fazt_process_resident_memory_bytes", "Resident memory of the fazt process.").labels();
  const heap = registry.gauge("fazt_process_heap_bytes", "JavaScript heap in use.").labels();
  const lag = registry.gauge("fazt_event_loop_lag_seconds", "How late a 250 ms timer fired, last probe.").labels();
  const maxLag = registry.gauge("fazt_event_loop_lag_max_seconds", "Largest event-loop lag since the previous scrape.").labels();
  const dbBytes = registry.gauge("fazt_db_bytes", "Size of the database file.").labels();
  const walBytes = registry.gauge("fazt_db_wal_bytes", "Size of the database's write-ahead log (-wal).").labels();
  // A timer that fires late measures how long the event loop was busy.
  let expected = performance.now() + LAG_PROBE_MS;
  let worst = 0;
  const probe = setInterval(() => {
    const now = performance.now();
    const late = Math.max(0, now - expected) / 1000;
    lag.set(late);
    if (late > worst) worst = late;
    expected = now + LAG_PROBE_MS;
  }, LAG_PROBE_MS);
  probe.unref();
  registry.onCollect(() => {
    rss.set(process.memoryUsage.rss());
    heap.set(process.memoryUsage().heapUsed);
    maxLag.set(worst);
    worst = 0;
    dbBytes.set(fileSize(dbPath));
    walBytes.set(fileSize(dbPath + "-wal"));
  });
  return () => clearInterval(probe);
}
