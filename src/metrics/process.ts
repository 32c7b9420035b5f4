// Process-level gauges read at each scrape: resident memory and heap, and the
// size of the database file and its WAL. (Event-loop lag: event-loop.ts.)
import { statSync } from "node:fs";
import type { Registry } from "./registry.ts";

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0; // no WAL at the moment
  }
}

export function registerProcessMetrics(registry: Registry, dbPath: string): void {
  const rss = registry.gauge("fazt_process_resident_memory_bytes", "Resident memory of the fazt process.").labels();
  const heap = registry.gauge("fazt_process_heap_bytes", "JavaScript heap in use.").labels();
  const dbBytes = registry.gauge("fazt_db_bytes", "Size of the database file.").labels();
  const walBytes = registry.gauge("fazt_db_wal_bytes", "Size of the database's write-ahead log (-wal).").labels();
  registry.onCollect(() => {
    rss.set(process.memoryUsage.rss());
    heap.set(process.memoryUsage().heapUsed);
    dbBytes.set(fileSize(dbPath));
    walBytes.set(fileSize(`${dbPath}-wal`));
  });
}
