#!/usr/bin/env bun
// The outbox under load: 10,000 messages queued through the API while a site
// is served; the Resend stand-in limits sends per second (429 + Retry-After,
// and announces the limit in ratelimit-* headers as Resend does). Reports how
// fast the outbox drains against that limit, what a sent message costs the
// server in CPU, and serving before, during and after the drain under two
// loads, in alternating windows:
//   - saturated: wrk as fast as it can (the server's CPU is all used, so
//     whatever mail takes comes out of requests/s);
//   - paced: wrk with a 1 ms pause per request and connection (well under
//     capacity, so p99 shows whether mail work delays requests).
// The server (all its threads) runs alone on CPU 0; wrk, the stand-in and the
// queueing client on CPU 1.
//
//   bun bench/mail.ts [--messages 10000] [--rate 200] [--seconds 5] [--binary]
//
// Needs wrk and taskset.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { api, cleanup, startFazt, tempDir } from "../test/helpers/fazt.ts";
import { ResendStandIn } from "../test/helpers/resend.ts";
import { seedDeploy } from "../test/helpers/sites.ts";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "10000" },
    rate: { type: "string", default: "200" },
    seconds: { type: "string", default: "5" },
    binary: { type: "boolean", default: false },
  },
});
const messages = Number(values.messages);
const rate = Number(values.rate);
const seconds = Number(values.seconds);

const SERVER_CPU = "0";
const CLIENT_CPU = "1";
/** Calibration: messages sent with no serving load (10 s of them), to measure their CPU cost alone. */
const ALONE = rate * 10;

type Load = "saturated" | "paced";
interface Window {
  phase: string;
  load: Load;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  /** The server's own account: worst main-thread hold and worst timer lateness in the window (ms). */
  busyMax: number;
  lagMax: number;
  sent: number;
}

function ms(text: string | undefined): number {
  const m = /([\d.]+)(us|ms|s)/.exec(text ?? "");
  if (!m) return Number.NaN;
  return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const dir = tempDir("fazt-bench-mail-");
const paced = join(dir, "paced.lua");
writeFileSync(paced, "function delay()\n  return 1\nend\n");

async function wrk(url: string, load: Load): Promise<Omit<Window, "phase" | "load" | "sent" | "busyMax" | "lagMax">> {
  const shape = load === "saturated" ? ["-c16"] : ["-c8", "-s", paced];
  const p = Bun.spawn(
    ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", ...shape, `-d${seconds}s`, "--latency", "-H", "Host: blog.example.com", url],
    { stdout: "pipe" },
  );
  const out = await new Response(p.stdout).text();
  await p.exited;
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: ms(/^\s+50%\s+(\S+)/m.exec(out)?.[1]),
    p99: ms(/^\s+99%\s+(\S+)/m.exec(out)?.[1]),
    max: ms(/^\s+Latency\s+\S+\s+\S+\s+(\S+)/m.exec(out)?.[1]),
  };
}

const resend = new ResendStandIn().start();
resend.ratePerSecond = rate;
resend.retryAfter = 1;
const db = `${dir}/fazt.db`;
seedDeploy(db, "blog", { "/index.html": `<!doctype html><h1>hello</h1>\n${"x".repeat(4000)}` }, { domains: ["blog.example.com"] });
// No --mail-provider-rate: the server paces to the limit the stand-in announces.
const f = await startFazt({ dir, db, binary: values.binary, args: ["--mail-rate", "1000000"], env: resend.env() });
Bun.spawnSync(["taskset", "-a", "-p", "-c", SERVER_CPU, String(f.proc.pid)], { stdout: "ignore" });
Bun.spawnSync(["taskset", "-a", "-p", "-c", CLIENT_CPU, String(process.pid)], { stdout: "ignore" });
const windows: Window[] = [];
const site = `${f.url}/`;

async function queue(n: number, from: number): Promise<void> {
  let next = from;
  const worker = async () => {
    for (let i = next++; i < from + n; i = next++) {
      const res = await api(f, "/api/mail", {
        method: "POST",
        json: { from: "news@blog.example.com", to: [`r${i}@x.example`], subject: `m${i}`, text: "hello" },
      });
      if (res.status !== 202) throw new Error(`queue: HTTP ${res.status} ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
}

async function delivered(n: number): Promise<void> {
  while (resend.deliveries.length < n) await Bun.sleep(10);
}

/** The event-loop gauges since the previous scrape (a scrape starts them over), in ms. */
async function loopHolds(): Promise<{ busyMax: number; lagMax: number }> {
  const text = await (await api(f, "/metrics")).text();
  const gauge = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1]) * 1000;
  return { busyMax: gauge("fazt_event_loop_busy_max_seconds"), lagMax: gauge("fazt_event_loop_lag_max_seconds") };
}

async function pair(phase: string): Promise<void> {
  for (const load of ["saturated", "paced"] as const) {
    await loopHolds();
    const w = await wrk(site, load);
    windows.push({ phase, load, ...w, ...(await loopHolds()), sent: resend.deliveries.length });
  }
}

try {
  // Idle CPU (timers), then the CPU of ALONE messages sent with nothing else to do.
  await delivered(0);
  const idle0 = cpuSeconds(f.proc.pid);
  await Bun.sleep(2000);
  const idlePerSecond = (cpuSeconds(f.proc.pid) - idle0) / 2;
  const a0 = cpuSeconds(f.proc.pid);
  const aT = performance.now();
  await queue(ALONE, 0);
  const queuedAlone = cpuSeconds(f.proc.pid);
  await delivered(ALONE);
  const sendCpu = cpuSeconds(f.proc.pid) - queuedAlone - idlePerSecond * ((performance.now() - aT) / 1000);
  const queueCpu = queuedAlone - a0;

  await pair("before");
  await pair("before");
  const t0 = performance.now();
  let queuedIn = 0;
  let deliveredWhenQueued = 0;
  const queueing = queue(messages, ALONE).then(() => {
    queuedIn = (performance.now() - t0) / 1000;
    deliveredWhenQueued = resend.deliveries.length - ALONE;
  });
  let round = 0;
  while (resend.deliveries.length < ALONE + messages) await pair(queuedIn === 0 ? `queueing ${++round}` : `draining ${++round}`);
  const drainedIn = (performance.now() - t0) / 1000;
  await queueing;
  await pair("after");
  await pair("after");

  const limited = resend.requests.filter((r) => r.behaviour === "ratelimit").length;
  const duplicates = resend.deliveries.length - new Set(resend.deliveries.map((d) => d.subject)).size;
  const rest = (messages - deliveredWhenQueued) / (drainedIn - queuedIn);
  console.log(`provider limit ${rate}/s (announced in ratelimit-limit; no flag given)`);
  console.log(
    `server CPU alone: ${((sendCpu / ALONE) * 1e6).toFixed(0)} µs per sent message ` +
      `(${((sendCpu / ALONE) * rate * 100).toFixed(1)}% of a core at ${rate}/s), ${((queueCpu / ALONE) * 1e6).toFixed(0)} µs per POST /api/mail; ` +
      `idle ${(idlePerSecond * 1000).toFixed(0)} ms/s`,
  );
  console.log(`${messages} messages queued in ${queuedIn.toFixed(1)} s (${(messages / queuedIn).toFixed(0)}/s through POST /api/mail)`);
  console.log(
    `drained in ${drainedIn.toFixed(1)} s: ${(messages / drainedIn).toFixed(1)} sends/s (${((messages / drainedIn / rate) * 100).toFixed(0)}% of the limit); ` +
      `after queueing ended ${rest.toFixed(1)}/s (${((rest / rate) * 100).toFixed(0)}%); ${limited} answers were 429; ${duplicates} duplicate deliveries`,
  );
  console.log(`serving a 4 KB page, ${seconds} s windows (saturated: wrk -c16; paced: wrk -c8 with 1 ms between requests):`);
  console.log("window        load         req/s    p50 ms   p99 ms   max ms   loop: busy max  lag max   delivered");
  const col = (n: number, digits: number, width: number) => n.toFixed(digits).padStart(width);
  for (const w of windows) {
    console.log(
      `${w.phase.padEnd(12)}  ${w.load.padEnd(10)} ${col(w.rps, 0, 7)}   ${col(w.p50, 2, 6)}   ${col(w.p99, 2, 6)}   ${col(w.max, 1, 6)}` +
        `   ${col(w.busyMax, 1, 13)}  ${col(w.lagMax, 1, 7)}   ${w.sent - ALONE}`,
    );
  }
  const summary = (load: Load, draining: boolean) => {
    const ws = windows.filter((w) => w.load === load && w.phase.startsWith("draining") === draining && !w.phase.startsWith("queueing"));
    const med = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
    return { rps: med(ws.map((w) => w.rps)), p99: med(ws.map((w) => w.p99)), p99s: ws.map((w) => w.p99.toFixed(2)).join(" ") };
  };
  console.log("medians          req/s    p99 ms   (p99 of each window)");
  for (const load of ["saturated", "paced"] as const) {
    for (const draining of [false, true]) {
      const s = summary(load, draining);
      console.log(
        `${load.padEnd(10)} ${draining ? "drain" : "quiet"} ${s.rps.toFixed(0).padStart(7)}   ${s.p99.toFixed(2).padStart(6)}   (${s.p99s})`,
      );
    }
  }
} finally {
  await f.stop();
  await resend.stop();
  cleanup(dir);
}
