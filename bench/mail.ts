#!/usr/bin/env bun
// The outbox under load: 10,000 messages queued through the API while a site
// is served under wrk; the Resend stand-in limits sends per second (429 with
// Retry-After). Reports how fast the outbox drains against that limit, and
// serving requests/s and p99 before, during and after the drain.
//
//   bun bench/mail.ts [--messages 10000] [--rate 200] [--seconds 10] [--connections 16]
//
// Needs wrk.
import { parseArgs } from "node:util";
import { api, cleanup, startFazt, tempDir } from "../test/helpers/fazt.ts";
import { ResendStandIn } from "../test/helpers/resend.ts";
import { seedDeploy } from "../test/helpers/sites.ts";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "10000" },
    rate: { type: "string", default: "200" },
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "16" },
  },
});
const messages = Number(values.messages);
const rate = Number(values.rate);
const seconds = Number(values.seconds);
const connections = Number(values.connections);

interface Window {
  label: string;
  rps: number;
  p50: number;
  p99: number;
  sent: number;
}

function ms(text: string | undefined): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text ?? "");
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
}

const SERVER_CPU = "0";
const CLIENT_CPU = "1";

async function wrk(url: string): Promise<{ rps: number; p50: number; p99: number }> {
  const p = Bun.spawn(
    ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", `-c${connections}`, `-d${seconds}s`, "--latency", "-H", "Host: blog.example.com", url],
    {
      stdout: "pipe",
    },
  );
  const out = await new Response(p.stdout).text();
  await p.exited;
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: ms(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
    p99: ms(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
  };
}

const resend = new ResendStandIn().start();
resend.ratePerSecond = rate;
resend.retryAfter = 1;
const dir = tempDir("fazt-bench-mail-");
const db = `${dir}/fazt.db`;
seedDeploy(db, "blog", { "/index.html": `<!doctype html><h1>hello</h1>\n${"x".repeat(4000)}` }, { domains: ["blog.example.com"] });
const f = await startFazt({ dir, db, args: ["--mail-rate", "1000000"], env: resend.env() });
// As bench/serve.ts: the server alone on CPU 0; wrk and this process (the Resend stand-in, the queueing client) on CPU 1,
// so what serving loses while the outbox drains is fazt's own cost, not the stand-in's.
Bun.spawnSync(["taskset", "-p", "-c", SERVER_CPU, String(f.proc.pid)], { stdout: "ignore" });
Bun.spawnSync(["taskset", "-p", "-c", CLIENT_CPU, String(process.pid)], { stdout: "ignore" });
const windows: Window[] = [];
const site = `${f.url}/`;

try {
  const before = await wrk(site);
  windows.push({ label: "before", ...before, sent: resend.deliveries.length });

  const t0 = performance.now();
  let next = 0;
  const queueing = (async () => {
    const worker = async () => {
      for (let i = next++; i < messages; i = next++) {
        const res = await api(f, "/api/mail", {
          method: "POST",
          json: { from: "news@blog.example.com", to: [`r${i}@x.example`], subject: `m${i}`, text: "hello" },
        });
        if (res.status !== 202) throw new Error(`queue: HTTP ${res.status} ${await res.text()}`);
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    return (performance.now() - t0) / 1000;
  })();
  let queuedIn = 0;
  let deliveredWhenQueued = 0;
  void queueing.then((s) => ((queuedIn = s), (deliveredWhenQueued = resend.deliveries.length)));
  let round = 0;
  while (resend.deliveries.length < messages) {
    const w = await wrk(site);
    windows.push({ label: `during ${++round}`, ...w, sent: resend.deliveries.length });
  }
  const drainedIn = (performance.now() - t0) / 1000;
  await queueing;
  const after = await wrk(site);
  windows.push({ label: "after", ...after, sent: resend.deliveries.length });

  const limited = resend.requests.filter((r) => r.behaviour === "ratelimit").length;
  const duplicates = resend.deliveries.length - new Set(resend.deliveries.map((d) => d.subject)).size;
  console.log(`${messages} messages queued in ${queuedIn.toFixed(1)} s (${(messages / queuedIn).toFixed(0)}/s through POST /api/mail)`);
  console.log(
    `drained in ${drainedIn.toFixed(1)} s: ${(messages / drainedIn).toFixed(1)} sends/s against a provider limit of ${rate}/s ` +
      `(${((messages / drainedIn / rate) * 100).toFixed(0)}%); ${limited} answers were 429; ${duplicates} duplicate deliveries`,
  );
  const rest = (messages - deliveredWhenQueued) / (drainedIn - queuedIn);
  console.log(`after queueing ended: ${rest.toFixed(1)} sends/s (${((rest / rate) * 100).toFixed(0)}% of the limit)`);
  console.log(`serving a 4 KB page, wrk -t1 -c${connections} -d${seconds}s:`);
  console.log("window        req/s      p50 ms   p99 ms   delivered at end");
  for (const w of windows) {
    console.log(
      `${w.label.padEnd(12)} ${w.rps.toFixed(0).padStart(7)}   ${w.p50.toFixed(2).padStart(7)}  ${w.p99.toFixed(2).padStart(7)}   ${w.sent}`,
    );
  }
} finally {
  await f.stop();
  await resend.stop();
  cleanup(dir);
}
