// Forms: what the bounded pieces cost, and submissions over HTTP.
//   bun bench/forms.ts [--submissions 1000] [--concurrency 8]
// 1. In process: the deploy-time HTML scan at its byte budget, the parsers at
//    their caps (the work one request may cause on the event loop).
// 2. A real server (sources): urlencoded submissions stored per second, their
//    latency, and the worst event-loop hold seen meanwhile (/metrics).
import { parseArgs } from "node:util";
import { join } from "node:path";
import { Store } from "../src/db/index.ts";
import { putContent } from "../src/vfs/content.ts";
import { declaredForms, SCAN_TOTAL_BYTES } from "../src/vfs/form-names.ts";
import { parseMultipart, parseUrlencoded } from "../src/forms/parse.ts";
import { FORM_LIMITS } from "../src/forms/limits.ts";
import { api, cleanup, hostFetch, startFazt, tempDir } from "../test/helpers/fazt.ts";

const { values } = parseArgs({
  options: { submissions: { type: "string", default: "1000" }, concurrency: { type: "string", default: "8" } },
});
const SUBMISSIONS = Number(values.submissions);
const CONCURRENCY = Number(values.concurrency);

function timeMs(fn: () => unknown, rounds = 5): number {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const t = performance.now();
    fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(rounds / 2)]!;
}

// ---- 1. in process ----------------------------------------------------------
const dir = tempDir("fazt-bench-forms-");
const store = Store.open(join(dir, "scan.db"));
const page = Buffer.alloc(512 * 1024, "<p>lorem ipsum dolor sit amet</p>\n");
const entries = store.tx(() =>
  Array.from({ length: 64 }, (_, i) => {
    const bytes = Buffer.concat([Buffer.from(`<form data-fazt-form="f${i % 40}">`), page, Buffer.from(String(i))]);
    return { path: `/p${i}.html`, blobId: putContent(store, bytes).blobId, mime: "text/html; charset=utf-8" };
  }),
);
const scan = timeMs(() => declaredForms(store.write, entries));
store.close();

const fields100 = Array.from({ length: 100 }, (_, i) => `field${i}=${"x%20y".repeat(500)}`).join("&");
const urlencoded = new TextEncoder().encode(fields100.slice(0, FORM_LIMITS.urlencodedBytes));
const boundary = "benchBoundary";
const file = new Uint8Array(FORM_LIMITS.fileBytes - 1024);
const parts = [
  ...Array.from({ length: 5 }, (_, i) => `--${boundary}\r\nContent-Disposition: form-data; name="f${i}"; filename="${i}.bin"\r\n\r\n`),
];
const multipart = Buffer.concat([
  ...parts.flatMap((p, i) => [Buffer.from((i ? "\r\n" : "") + p), i < 1 ? file : file.subarray(0, 700 * 1024)]),
  Buffer.from(`\r\n--${boundary}--\r\n`),
]);
const urlMs = timeMs(() => parseUrlencoded(urlencoded, FORM_LIMITS));
const mpMs = timeMs(() => parseMultipart(multipart, boundary, FORM_LIMITS));

console.log("\nwork one request may cause (median of 5, ms)");
console.log(`deploy HTML scan at its budget (${SCAN_TOTAL_BYTES / 1024 / 1024} MiB over 64 files)  ${scan.toFixed(2)}`);
console.log(`urlencoded parse, ${(urlencoded.length / 1024).toFixed(0)} KiB, 100 fields              ${urlMs.toFixed(2)}`);
console.log(`multipart parse, ${(multipart.length / 1024 / 1024).toFixed(1)} MiB, 5 files                   ${mpMs.toFixed(2)}`);

// ---- 2. over HTTP -------------------------------------------------------------
const f = await startFazt({ args: ["--trust-proxy", "--forms-client-rate", "1000000", "--forms-site-rate", "1000000"] });
try {
  await api(f, "/api/sites", { method: "POST", json: { name: "bench" } });
  await api(f, "/api/sites/bench/settings", { method: "PATCH", json: { forms: { contact: {} } } });
  await api(f, "/metrics"); // start a new event-loop window
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < SUBMISSIONS) {
      const i = next++;
      const t = performance.now();
      const res = await hostFetch(f, "bench.localhost", "/.fazt/forms/contact", {
        method: "POST",
        body: `name=visitor+${i}&email=v${i}%40example.org&message=${"hello+".repeat(50)}`,
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-forwarded-for": `10.0.${(i >> 8) & 255}.${i & 255}`,
          accept: "application/json",
        },
      });
      if (res.status !== 200) throw new Error(`submission ${i}: HTTP ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      latencies.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const metrics = await (await api(f, "/metrics")).text();
  const hold = Number(/^fazt_event_loop_lag_max_seconds ([0-9.e+-]+)$/m.exec(metrics)?.[1] ?? NaN) * 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(1);
  console.log(`\n${SUBMISSIONS} urlencoded submissions, ${CONCURRENCY} at a time, each stored in its own transaction`);
  const rate = (SUBMISSIONS / seconds).toFixed(0);
  console.log(`stored/s ${rate}   p50 ${pct(0.5)} ms   p99 ${pct(0.99)} ms   worst event-loop hold ${hold.toFixed(1)} ms`);
  // The largest submission: 5 files, 7.7 MiB, stored with their blobs in one transaction.
  await api(f, "/metrics");
  const big: number[] = [];
  for (let i = 0; i < 10; i++) {
    const t = performance.now();
    const res = await hostFetch(f, "bench.localhost", "/.fazt/forms/contact", {
      method: "POST",
      body: multipart,
      headers: { "content-type": `multipart/form-data; boundary=${boundary}`, "x-forwarded-for": "10.9.9.9", accept: "application/json" },
    });
    if (res.status !== 200) throw new Error(`big submission: HTTP ${res.status} ${await res.text()}`);
    big.push(performance.now() - t);
  }
  const lag = /^fazt_event_loop_lag_max_seconds ([0-9.e+-]+)$/m.exec(await (await api(f, "/metrics")).text());
  const bigHold = Number(lag?.[1] ?? NaN) * 1000;
  big.sort((a, b) => a - b);
  console.log(`10 multipart submissions of 7.7 MiB (5 files): median ${big[5]!.toFixed(0)} ms, worst loop hold ${bigHold.toFixed(1)} ms`);
} finally {
  await f.stop();
  cleanup(f.dir);
  cleanup(dir);
}
