#!/usr/bin/env bun
// What analytics adds to one site request, in nanoseconds per call, measured
// inside a real Bun.serve request (so server.requestIP does its real syscall):
// the peer address lookup alone, Analytics.record for a counted request (an
// asset or its revalidation: no address), and for a document (with the
// address). Each figure is the best of --rounds rounds of --calls calls, so
// other load on the machine inflates it less than a throughput run.
//
//   bun bench/analytics-path.ts [--calls 200000] [--rounds 7]
//
// Compare with the per-request CPU time of bench/serve.ts (1e9 / req per
// CPU-second) to get the share of a request.
import { parseArgs } from "node:util";
import { join } from "node:path";
import { Store } from "../src/db/index.ts";
import { App } from "../src/server/app.ts";
import { defaultConfig, type ServerConfig } from "../src/core/config.ts";
import { createSite } from "../src/sites/index.ts";
import { Analytics } from "../src/analytics/index.ts";
import { CLASS_PAGE, PATH_CLASSES } from "../src/serve/http.ts";
import { tempDir, cleanup } from "../test/helpers/fazt.ts";

const { values } = parseArgs({ options: { calls: { type: "string", default: "200000" }, rounds: { type: "string", default: "7" } } });
const CALLS = Number(values.calls);
const ROUNDS = Number(values.rounds);
const UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";

const dir = tempDir("fazt-bench-");
const config: ServerConfig = defaultConfig({ dbPath: join(dir, "fazt.db") });
const store = Store.open(config.dbPath);
const app = new App(store, config);
const site = createSite(store, "bench");
// Large enough that nothing is dropped; flushed by hand between rounds.
const analytics = new Analytics(app, { capacity: 1_000_000, maxBytes: 1 << 30, batchSize: 1_000_000, intervalMs: 3_600_000 });

/** Best ns per call of fn over ROUNDS rounds of CALLS calls. */
async function perCall(fn: () => void): Promise<number> {
  let best = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = Bun.nanoseconds();
    for (let i = 0; i < CALLS; i++) fn();
    best = Math.min(best, (Bun.nanoseconds() - t0) / CALLS);
    await analytics.recorder.flush();
  }
  return best;
}

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  async fetch(req, srv) {
    const hit = (status: number, bytes: number, pathClass: number) => ({
      req,
      server: srv,
      siteId: site.id,
      host: "bench.localhost",
      status,
      bytes,
      pathClass,
    });
    const asset304 = hit(304, 0, PATH_CLASSES.indexOf("style"));
    const file = hit(200, 102400, PATH_CLASSES.indexOf("other"));
    const page = hit(200, 4096, CLASS_PAGE);
    const results = {
      "server.requestIP (getpeername)": await perCall(() => void srv.requestIP(req)),
      "record: counted (asset 304)": await perCall(() => analytics.record(asset304)),
      "record: counted (100 KB file)": await perCall(() => analytics.record(file)),
      "record: document (page 200)": await perCall(() => analytics.record(page)),
    };
    return Response.json(results);
  },
});
try {
  const res = await fetch(`http://127.0.0.1:${server.port}/`, { headers: { "user-agent": UA, "if-none-match": '"x"' } });
  const results = (await res.json()) as Record<string, number>;
  console.log(`analytics on the request path: best of ${ROUNDS} x ${CALLS} calls, ns per call`);
  for (const [name, ns] of Object.entries(results)) console.log(`${name.padEnd(32)} ${ns.toFixed(0).padStart(6)} ns`);
} finally {
  server.stop(true);
  await analytics.close();
  store.close();
  cleanup(dir);
}
