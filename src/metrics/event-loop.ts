// How long the event loop was held: a timer due every 5 ms records how late it
// fires. The gauge answers the worst lateness since the previous scrape (then
// starts over), so one request that blocks is visible even between scrapes.
import type { Registry } from "./registry.ts";

const TICK_MS = 5;

/** Start watching; returns the function that stops it. */
export function watchEventLoop(registry: Registry): () => void {
  const gauge = registry.gauge("fazt_event_loop_lag_max_seconds", "Worst event-loop delay since the previous scrape (a 5 ms timer's lateness).");
  let worst = 0;
  let due = performance.now() + TICK_MS;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - due);
    due = now + TICK_MS;
  }, TICK_MS);
  timer.unref();
  registry.onCollect(() => {
    // A hold still in progress at the scrape cannot be: the scrape itself runs on the loop.
    gauge.labels().set(Math.max(worst, performance.now() - due) / 1000);
    worst = 0;
  });
  return () => clearInterval(timer);
}
