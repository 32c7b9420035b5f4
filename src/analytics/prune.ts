// Background pruning: raw events older than the retention window, then the
// oldest raw events while they take more than the byte budget, go in small
// batches (one short transaction each, yielding between), so pruning a big
// backlog never holds the writer or the event loop for long. Rollups stay.
import { nextTurn } from "../core/breather.ts";
import type { Store } from "../db/index.ts";
import { DAY_MS, dayOf } from "./days.ts";

const PRUNE_BATCH = 1000;

interface Retention {
  retentionDays: number;
  /** Most bytes raw events may take, as estimated in analytics_event_bytes (kept by triggers). */
  maxBytes: number;
}

/**
 * Delete raw events older than `retentionDays` before `now`, then the oldest
 * while over `maxBytes`. Events are appended in time order, so the oldest are
 * the lowest ids: each batch looks only at the first PRUNE_BATCH rows, never
 * scanning the table. Returns the rows deleted.
 */
export async function pruneEvents(
  store: Store,
  retention: Retention,
  now = Date.now(),
  opts: { batch?: number; stopped?: () => boolean } = {},
): Promise<number> {
  const batch = opts.batch ?? PRUNE_BATCH;
  const cutoff = now - retention.retentionDays * DAY_MS;
  const db = store.write;
  const expired = db.prepare("DELETE FROM analytics_events WHERE id IN (SELECT id FROM analytics_events ORDER BY id LIMIT ?) AND ts < ?");
  const oldest = db.prepare("DELETE FROM analytics_events WHERE id IN (SELECT id FROM analytics_events ORDER BY id LIMIT ?)");
  const stored = db.prepare("SELECT bytes FROM analytics_event_bytes WHERE id = 1");
  const overBudget = () => ((stored.get() as { bytes: number } | null)?.bytes ?? 0) > retention.maxBytes;
  let total = 0;
  /** Run one deleting step per transaction until it deletes nothing; true when stopped meanwhile. */
  const inBatches = async (step: () => number): Promise<boolean> => {
    for (;;) {
      const n = store.tx(step);
      total += n;
      if (n === 0) return false;
      await nextTurn();
      if (opts.stopped?.()) return true;
    }
  };
  if (await inBatches(() => expired.run(batch, cutoff).changes)) return total;
  if (await inBatches(() => (overBudget() ? oldest.run(batch).changes : 0))) return total;
  // Per-day visitor marks and salts are only needed for today and yesterday;
  // per-class counts are kept as long as raw events (they stand in for assets' events).
  const keepFrom = dayOf(now) - 1;
  store.tx(() => {
    store.write.run("DELETE FROM analytics_day_visitors WHERE day < ?", [keepFrom]);
    store.write.run("DELETE FROM analytics_salts WHERE day < ?", [keepFrom]);
    store.write.run("DELETE FROM analytics_hourly_classes WHERE hour < ?", [Math.floor(cutoff / 1000)]);
  });
  return total;
}
