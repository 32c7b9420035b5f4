// Background pruning: raw events older than the retention window go in small
// batches (one short transaction each, yielding between), so pruning a big
// backlog never holds the writer or the event loop for long. Rollups stay.
import type { Store } from "../db/index.ts";
import { DAY_MS, dayOf } from "./days.ts";

export const PRUNE_BATCH = 1000;

/**
 * Delete raw events older than `retentionDays` before `now`. Events are
 * appended in time order, so the oldest are the lowest ids: each batch looks
 * only at the first PRUNE_BATCH rows, never scanning the table.
 */
export async function pruneEvents(
  store: Store,
  retentionDays: number,
  now = Date.now(),
  opts: { batch?: number; stopped?: () => boolean } = {},
): Promise<number> {
  const batch = opts.batch ?? PRUNE_BATCH;
  const cutoff = now - retentionDays * DAY_MS;
  const del = store.write.prepare(
    "DELETE FROM analytics_events WHERE id IN (SELECT id FROM analytics_events ORDER BY id LIMIT ?) AND ts < ?",
  );
  let total = 0;
  for (;;) {
    const n = store.tx(() => del.run(batch, cutoff).changes);
    total += n;
    if (n === 0) break;
    await new Promise<void>((r) => setImmediate(r));
    if (opts.stopped?.()) return total;
  }
  // Per-day visitor marks and salts are only needed for today and yesterday.
  const keepFrom = dayOf(now) - 1;
  store.tx(() => {
    store.write.run("DELETE FROM analytics_day_visitors WHERE day < ?", [keepFrom]);
    store.write.run("DELETE FROM analytics_salts WHERE day < ?", [keepFrom]);
  });
  return total;
}
