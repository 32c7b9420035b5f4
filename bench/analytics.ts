#!/usr/bin/env bun
// The cost of analytics on the site hot path: the same wrk load against fazt
// with analytics on and off (`--analytics off`), alternating rounds; reports
// requests/s and latency percentiles for each, and the relative cost. With
// --soak N it also runs N seconds of sustained load each way, sampling the
// server's RSS and the analytics buffer every 5 s (memory must stay flat).
// Identical requests within a flush interval share one row; --clients N sends
// requests from N client addresses in rotation (X-Forwarded-For, with
// --trust-proxy on the server): with 10000, every request is its own row.
//
//   bun bench/analytics.ts [--seconds 10] [--rounds 2] [--connections 64] [--threads 2] [--soak 60] [--clients N] [--binary]
//
// Needs wrk (Debian package `wrk`). --binary uses dist/fazt (bun run build).
import { parseArgs } from "node:util";
import { join } from "node:path";
import { readFileSync } from "node:fs";
import { startFazt, tempDir, cleanup, api, type FaztProcess } from "../test/helpers/fazt.ts";
import { seedSite } from "../test/helpers/seed.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    rounds: { type: "string", default: "2" },
    connections: { type: "string", default: "64" },
    threads: { type: "string", default: "2" },
    soak: { type: "string", default: "0" },
    binary: { type: "boolean", default: false },
    clients: { type: "string", default: "0" },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const threads = Number(values.threads);
const soak = Number(values.soak);
const clients = Number(values.clients);
const script = join(import.meta.dir, "analytics.lua");

interface Run {
  rps: number;
  /** Server CPU time (user + system) per answered request, in microseconds: robust to a busy machine. */
  cpuUs: number;
  requests: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
}

/** wrk latency figure ("812.00us", "3.21ms", "1.02s") in milliseconds. */
function ms(v: string | undefined): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v ?? "");
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === "us" ? 0.001 : m[2] === "s" ? 1000 : 1);
}

/** CPU seconds (user + system) a process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

async function runWrk(port: number, secs: number, pid: number): Promise<Run> {
  const cpu0 = cpuSeconds(pid);
  const args = [
    "wrk",
    `-t${threads}`,
    `-c${connections}`,
    `-d${secs}s`,
    "--latency",
    "--timeout",
    "5s",
    "-s",
    script,
    "-H",
    "Host: blog.localhost",
  ];
  const p = Bun.spawn([...args, `http://127.0.0.1:${port}`, ...(clients > 0 ? ["--", String(clients)] : [])], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`wrk failed (${code}): ${err}`);
  const pct = (q: string) => ms(new RegExp(`^\\s+${q}%\\s+(\\S+)`, "m").exec(out)?.[1]);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1] ?? 0);
  await Bun.sleep(1200); // the flusher writes what is buffered: its CPU belongs to these requests
  return {
    rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0),
    cpuUs: ((cpuSeconds(pid) - cpu0) * 1e6) / requests,
    requests,
    p50: pct("50"),
    p99: pct("99"),
    max: ms(/Latency\s+\S+\s+\S+\s+(\S+)/.exec(out)?.[1]),
    errors: sock ? sock.slice(1).reduce((n, x) => n + Number(x), 0) : 0,
  };
}

async function withServer<T>(analytics: boolean, fn: (f: FaztProcess) => Promise<T>): Promise<T> {
  const dir = tempDir("fazt-bench-");
  seedSite(join(dir, "fazt.db"), "blog", { "/index.html": "<!doctype html><h1>hello</h1>\n", "/about.html": "<p>about</p>\n".repeat(40) });
  const f = await startFazt({
    dir,
    binary: values.binary,
    env: { FAZT_ANALYTICS: analytics ? "on" : "off", FAZT_TRUST_PROXY: String(clients > 0) },
  });
  try {
    await runWrk(f.port, 2, f.proc.pid); // warm-up
    return await fn(f);
  } finally {
    await f.stop();
    cleanup(dir);
  }
}

async function metric(f: FaztProcess, name: string): Promise<number> {
  const text = await (await api(f, "/metrics")).text();
  return Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
}

function rssMiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

const fmt = (r: Run) =>
  `${r.rps.toFixed(0).padStart(7)} req/s  ${r.cpuUs.toFixed(1).padStart(5)} us CPU/req  p50 ${r.p50.toFixed(2).padStart(6)} ms  p99 ${r.p99.toFixed(2).padStart(6)} ms  max ${r.max.toFixed(1).padStart(6)} ms  errors ${r.errors}`;

console.log(
  `wrk -t${threads} -c${connections} -d${seconds}s, rotating 7 User-Agents and 4 paths${clients > 0 ? `, ${clients} client addresses` : ""}; fazt ${values.binary ? "binary" : "from source"}; ${rounds} rounds`,
);
const results: Record<"on" | "off", Run[]> = { on: [], off: [] };
for (let i = 0; i < rounds; i++) {
  for (const mode of i % 2 ? (["on", "off"] as const) : (["off", "on"] as const)) {
    const r = await withServer(mode === "on", async (f) => {
      const before = mode === "on" ? await metric(f, "fazt_analytics_write_seconds_total") : 0;
      const run = await runWrk(f.port, seconds, f.proc.pid);
      if (mode === "on") {
        const [written, dropped, maxWrite, writing] = await Promise.all([
          metric(f, "fazt_analytics_written_events_total"),
          metric(f, "fazt_analytics_dropped_events_total"),
          metric(f, "fazt_analytics_max_write_seconds"),
          metric(f, "fazt_analytics_write_seconds_total"),
        ]);
        console.log(
          `  analytics on: ${written} events written (warm-up included), ${dropped} dropped, longest batch write ${(maxWrite * 1000).toFixed(1)} ms, ` +
            `batch writes took ${(((writing - before) / seconds) * 100).toFixed(1)}% of the run's wall time`,
        );
      }
      return run;
    });
    results[mode].push(r);
    console.log(`round ${i + 1} analytics ${mode.padEnd(3)} ${fmt(r)}`);
  }
}
const mean = (rs: Run[], k: keyof Run) => rs.reduce((n, r) => n + r[k], 0) / rs.length;
const on = mean(results.on, "rps");
const off = mean(results.off, "rps");
console.log(
  `\nmean req/s: off ${off.toFixed(0)}, on ${on.toFixed(0)}; analytics cost ${(((off - on) / off) * 100).toFixed(1)}% (budget 10%)`,
);
const cpuOff = mean(results.off, "cpuUs");
const cpuOn = mean(results.on, "cpuUs");
console.log(
  `server CPU per request: off ${cpuOff.toFixed(1)} us, on ${cpuOn.toFixed(1)} us (+${(((cpuOn - cpuOff) / cpuOff) * 100).toFixed(1)}%)`,
);
console.log(`mean p99: off ${mean(results.off, "p99").toFixed(2)} ms, on ${mean(results.on, "p99").toFixed(2)} ms`);

if (soak > 0) {
  console.log(`\nsoak: ${soak} s of sustained load each way, RSS and buffer sampled every 5 s`);
  for (const mode of ["off", "on"] as const) {
    await withServer(mode === "on", async (f) => {
      const samples: string[] = [];
      const rss: number[] = [];
      const load = runWrk(f.port, soak, f.proc.pid);
      const sampler = setInterval(async () => {
        const r = rssMiB(f.proc.pid);
        rss.push(r);
        const buffered = mode === "on" ? ` buf ${await metric(f, "fazt_analytics_buffered_events")}` : "";
        samples.push(`${r.toFixed(0)}${buffered}`);
      }, 5000);
      const run = await load;
      clearInterval(sampler);
      const extra =
        mode === "on"
          ? `, dropped ${await metric(f, "fazt_analytics_dropped_events_total")}, longest write ${((await metric(f, "fazt_analytics_max_write_seconds")) * 1000).toFixed(1)} ms`
          : "";
      console.log(`soak analytics ${mode.padEnd(3)} ${fmt(run)}${extra}`);
      console.log(`  RSS MiB every 5 s: ${samples.join(", ")}`);
      const half = Math.floor(rss.length / 2);
      const firstHalf = Math.max(...rss.slice(0, half));
      const secondHalf = Math.max(...rss.slice(half));
      console.log(`  RSS max first half ${firstHalf.toFixed(0)} MiB, second half ${secondHalf.toFixed(0)} MiB`);
    });
  }
}
