#!/usr/bin/env bun
// HTTPS under wrk while certificates change: fazt (source) with a pebble CA;
// a first run with no change, then a run during which domains are added, so
// new certificates are ordered and the TLS listener is swapped. Reports
// requests/s and every wrk error count for both runs.
//
//   bun bench/tls-swap.ts [--seconds 10] [--connections 32] [--threads 2] [--swaps 5]
//
// Needs pebble, pebble-challtestsrv (Debian package `pebble`), wrk, curl, openssl.
import { parseArgs } from "node:util";
import { startFazt, tempDir, cleanup, api } from "../test/helpers/fazt.ts";
import { startPebble, freePort, seedSite, curlHttps } from "../test/helpers/pebble.ts";
import { waitFor } from "../test/helpers/wait.ts";
import { wrk, type WrkResult } from "../test/helpers/wrk.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    threads: { type: "string", default: "2" },
    swaps: { type: "string", default: "5" },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);
const threads = Number(values.threads);
const swaps = Number(values.swaps);

const httpPort = freePort();
const pebble = await startPebble({ httpPort });
const dir = tempDir("fazt-bench-");
const db = `${dir}/fazt.db`;
seedSite(db, "blog", ["blog.example.com"], "<!doctype html><h1>hello</h1>\n");
const f = await startFazt({
  dir,
  db,
  args: [
    "--http",
    `127.0.0.1:${httpPort}`,
    "--https",
    "127.0.0.1:0",
    "--acme-directory",
    pebble.directory,
    "--acme-ca-root",
    pebble.apiCaFile,
  ],
  env: { FAZT_LOG_LEVEL: "info", FAZT_ACME_CHECK_MS: "250" },
});
const httpsPort = Number(/"https_port":(\d+)/.exec(f.stderr())?.[1]);
const swapCount = () => f.stderr().split("tls listener swapped").length - 1;

function report(label: string, r: WrkResult, swapped: number) {
  console.log(
    `${label.padEnd(14)} ${r.rps.toFixed(0).padStart(8)} req/s  ${String(r.requests).padStart(9)} requests  swaps ${swapped}  ` +
      `errors: connect ${r.connectErrors} read ${r.readErrors} write ${r.writeErrors} timeout ${r.timeouts} non-2xx ${r.non2xx3xx}`,
  );
}

try {
  // The first certificate is live once its swap is logged (the old listener retired).
  await waitFor(() => swapCount() >= 1, { what: "the first certificate", timeoutMs: 30_000, everyMs: 100 });
  const url = `https://127.0.0.1:${httpsPort}/`;
  const opts = { seconds, connections, threads, headers: { Host: "blog.example.com" } };
  console.log(`wrk -t${threads} -c${connections} -d${seconds}s over HTTPS (TLS keep-alive), fazt from source, pebble CA`);

  const s0 = swapCount();
  report("steady", await wrk(url, opts), swapCount() - s0);

  const s1 = swapCount();
  const load = wrk(url, opts);
  const gap = (seconds * 1000) / (swaps + 1);
  for (let i = 0; i < swaps; i++) {
    await Bun.sleep(gap);
    const domain = `d${i}-${Date.now()}.example.com`;
    await api(f, "/api/sites/blog/domains", { method: "POST", json: { domain } });
    const served = async () => (await curlHttps(httpsPort, domain, pebble.issuerRootFile)).code === 0;
    await waitFor(served, { what: `${domain}'s certificate`, timeoutMs: 30_000, everyMs: 100 });
  }
  report("with swaps", await load, swapCount() - s1);
} finally {
  await f.stop();
  await pebble.stop();
  cleanup(dir);
}
