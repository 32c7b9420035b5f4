#!/usr/bin/env bun
// Serving benchmark: fazt vs nginx (1 worker) vs Caddy (GOMAXPROCS=1) vs the
// "bun floor" (bench/floor-server.ts: a bare Bun.serve handler cloning ready
// Responses with fazt's own headers, the most a JS handler can do) on the
// same files, each server pinned to CPU 0 and wrk to CPU 1, on loopback.
//
//   bun bench/serve.ts [--duration 8] [--connections 50] [--repeat 1] [--binary] [--analytics on|off|both]
//
// --analytics both runs a second fazt with analytics off in the same rounds
// and adds the column on/off: the cost of counting every request, measured
// under the same machine load. Every request carries a desktop browser's
// User-Agent (real traffic does; fazt classifies it off the hot path).
//
// Scenarios: a 4 KB HTML page, a 100 KB file, and 304 revalidation of the
// page and of a stylesheet (If-None-Match with the server's own ETag). With
// analytics, pages (200 and 304) are recorded with their visitor; the file and
// the stylesheet are only counted (no client address lookup). Prints req/s, the ratios
// fazt/nginx, fazt/caddy, fazt/floor and floor/nginx (the best fazt could
// reach against nginx on this runtime), and fazt's RSS after the run. With --repeat N the
// runs are interleaved N times and the best of each is kept (a busy machine
// only ever makes a server slower). Because other load on the machine skews
// req/s, each run also measures the server's own CPU time (its process tree,
// all threads): requests per CPU-second is the fairer figure on a busy box. wrk (and nginx,
// caddy) are installed from Debian when missing. Everything started here is
// stopped at the end, the temp directory removed.
import { parseArgs } from "node:util";
import { mkdtempSync, writeFileSync, mkdirSync, rmSync, readFileSync, chmodSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";

const ROOT = resolve(import.meta.dir, "..");
const { values: opts } = parseArgs({
  options: {
    duration: { type: "string", default: "8" },
    connections: { type: "string", default: "50" },
    repeat: { type: "string", default: "1" },
    binary: { type: "boolean", default: false },
    analytics: { type: "string", default: "on" },
  },
});
const DURATION = Number(opts.duration);
const CONNECTIONS = Number(opts.connections);
const REPEAT = Math.max(1, Number(opts.repeat));
const SERVER_CPU = "0";
const CLIENT_CPU = "1";
const HOST = "bench.localhost";
const USER_AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36";
if (!["on", "off", "both"].includes(opts.analytics!)) throw new Error("--analytics: on, off or both");

const started: Subprocess[] = [];
const dir = mkdtempSync(join(tmpdir(), "fazt-bench-"));

function ensureTool(cmd: string, pkg: string): void {
  if (Bun.which(cmd)) return;
  console.error(`installing ${pkg} from Debian...`);
  const sudo = process.getuid?.() === 0 ? [] : ["sudo"];
  for (const args of [
    ["apt-get", "update", "-qq"],
    ["apt-get", "install", "-y", "-qq", pkg],
  ]) {
    const r = Bun.spawnSync([...sudo, ...args], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      stdout: "inherit",
      stderr: "inherit",
    });
    if (r.exitCode !== 0) throw new Error(`cannot install ${pkg}`);
  }
}

async function freePort(): Promise<number> {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

async function waitUp(url: string, headers: Record<string, string> = {}): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { headers });
      await r.arrayBuffer();
      if (r.status < 500) return;
    } catch {}
    await Bun.sleep(50);
  }
  throw new Error(`${url} did not come up`);
}

function spawn(cmd: string[], env: Record<string, string> = {}): Subprocess<"ignore", "pipe", "pipe"> {
  const p = Bun.spawn(["taskset", "-c", SERVER_CPU, ...cmd], {
    env: { ...process.env, ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  started.push(p);
  return p;
}

// ---- the sample site --------------------------------------------------------

const page = Buffer.from(
  "<!doctype html><html><head><title>bench</title></head><body>\n" +
    "<p>The quick brown fox jumps over the lazy dog.</p>\n".repeat(78) +
    "</body></html>\n",
).subarray(0, 4096);
const file100k = crypto.getRandomValues(new Uint8Array(100 * 1024));
const css = Buffer.from("body { font: 16px/1.5 system-ui, sans-serif; color: #222; }\n".repeat(32));
const files: Record<string, Uint8Array> = { "index.html": page, "file-100k.bin": file100k, "style.css": css };
const docroot = join(dir, "www");
mkdirSync(docroot);
chmodSync(dir, 0o755); // nginx workers run as an unprivileged user
for (const [name, data] of Object.entries(files)) writeFileSync(join(docroot, name), data);

// ---- servers ----------------------------------------------------------------

interface Target {
  name: string;
  base: string;
  headers: Record<string, string>;
  pid: number;
}

async function startFazt(name: string, analytics: "on" | "off"): Promise<Target> {
  const port = await freePort();
  const cmd = opts.binary ? [join(ROOT, "dist/fazt")] : [process.execPath, join(ROOT, "src/main.ts")];
  const p = spawn([...cmd, "serve", "--db", join(dir, `${name}.db`), "--http", `127.0.0.1:${port}`, "--analytics", analytics], {
    FAZT_LOG_LEVEL: "info",
  });
  let err = "";
  const token = await (async () => {
    const decoder = new TextDecoder();
    for await (const chunk of p.stderr) {
      err += decoder.decode(chunk, { stream: true });
      const m = /(fzt_[a-z2-7]{12}_[A-Za-z0-9_-]{43})/.exec(err);
      if (m && err.includes("http_port")) return m[1]!;
    }
    throw new Error(`fazt did not start:\n${err}`);
  })();
  void (async () => {
    for await (const _ of p.stderr);
  })();
  const admin = `http://127.0.0.1:${port}`;
  const auth = { authorization: `Bearer ${token}` };
  const site = await fetch(`${admin}/api/sites`, {
    method: "POST",
    headers: { ...auth, "content-type": "application/json" },
    body: JSON.stringify({ name: "bench" }),
  });
  if (site.status !== 201) throw new Error(`create site: ${site.status} ${await site.text()}`);
  for (const [name, data] of Object.entries(files)) {
    const r = await fetch(`${admin}/api/sites/bench/files/${name}`, { method: "PUT", headers: auth, body: data });
    if (r.status >= 300) throw new Error(`deploy ${name}: ${r.status} ${await r.text()}`);
  }
  await waitUp(`${admin}/`, { Host: HOST });
  return { name, base: admin, headers: { Host: HOST }, pid: p.pid };
}

async function startNginx(): Promise<Target> {
  ensureTool("nginx", "nginx-light");
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  const tmp = join(dir, "nginx-tmp");
  mkdirSync(tmp);
  // A reasonable production setup for static files: one worker, sendfile, open file cache, no access log.
  writeFileSync(
    conf,
    `daemon off;
worker_processes 1;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_requests 1000000;
  open_file_cache max=1000 inactive=60s;
  open_file_cache_valid 60s;
  client_body_temp_path ${tmp};
  proxy_temp_path ${tmp};
  fastcgi_temp_path ${tmp};
  uwsgi_temp_path ${tmp};
  scgi_temp_path ${tmp};
  server {
    listen 127.0.0.1:${port};
    root ${docroot};
    etag on;
  }
}
`,
  );
  const p = spawn(["nginx", "-c", conf, "-e", join(dir, "nginx-error.log")]);
  await waitUp(`http://127.0.0.1:${port}/`);
  return { name: "nginx", base: `http://127.0.0.1:${port}`, headers: {}, pid: p.pid };
}

async function startCaddy(): Promise<Target> {
  ensureTool("caddy", "caddy");
  const port = await freePort();
  const p = spawn(["caddy", "file-server", "--root", docroot, "--listen", `127.0.0.1:${port}`], {
    GOMAXPROCS: "1",
    HOME: dir,
    XDG_DATA_HOME: dir,
    XDG_CONFIG_HOME: dir,
  });
  void new Response(p.stdout).text();
  void new Response(p.stderr).text();
  await waitUp(`http://127.0.0.1:${port}/`);
  return { name: "caddy", base: `http://127.0.0.1:${port}`, headers: {}, pid: p.pid };
}

/** The floor answers with exactly fazt's headers (identity: wrk sends no Accept-Encoding), 200 and 304. */
async function startFloor(fazt: Target): Promise<Target> {
  type Answer = { file: string; headers: Record<string, string>; notModified: Record<string, string> };
  const spec: { port: number; files: Record<string, Answer> } = { port: await freePort(), files: {} };
  const headersOf = async (path: string, extra: Record<string, string> = {}) => {
    const r = await fetch(fazt.base + path, { headers: { ...fazt.headers, "Accept-Encoding": "identity", ...extra } });
    await r.arrayBuffer();
    return Object.fromEntries(r.headers);
  };
  for (const name of Object.keys(files)) {
    const path = name === "index.html" ? "/" : `/${name}`;
    const headers = await headersOf(path);
    spec.files[path] = { file: join(docroot, name), headers, notModified: await headersOf(path, { "If-None-Match": headers.etag! }) };
  }
  const specFile = join(dir, "floor.json");
  writeFileSync(specFile, JSON.stringify(spec));
  const p = spawn([process.execPath, join(ROOT, "bench/floor-server.ts"), specFile]);
  void new Response(p.stdout).text();
  void new Response(p.stderr).text();
  await waitUp(`http://127.0.0.1:${spec.port}/`);
  return { name: "floor", base: `http://127.0.0.1:${spec.port}`, headers: {}, pid: p.pid };
}

// ---- load -------------------------------------------------------------------

interface Scenario {
  name: string;
  path: string;
  conditional?: boolean;
}
const SCENARIOS: Scenario[] = [
  { name: "4 KB page", path: "/" },
  { name: "100 KB file", path: "/file-100k.bin" },
  { name: "304 page", path: "/", conditional: true },
  { name: "304 asset", path: "/style.css", conditional: true },
];

const CLK_TCK = 100; // Linux USER_HZ

/** CPU seconds used so far by a process, its threads and its descendants. */
function cpuSeconds(pid: number): number {
  let ticks = 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks = Number(fields[11]) + Number(fields[12]); // utime, stime
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8").trim().split(/\s+/).filter(Boolean)) {
      ticks += cpuSeconds(Number(child)) * CLK_TCK;
    }
  } catch {}
  return ticks / CLK_TCK;
}

interface Run {
  rps: number;
  /** Requests per CPU-second of the server. */
  perCpu: number;
}

async function wrk(t: Target, s: Scenario, seconds: number): Promise<Run> {
  const headers: Record<string, string> = { ...t.headers, "User-Agent": USER_AGENT };
  if (s.conditional) {
    // wrk sends no Accept-Encoding: revalidate the identity representation's tag.
    const r = await fetch(t.base + s.path, { headers: { ...headers, "Accept-Encoding": "identity" } });
    await r.arrayBuffer();
    const etag = r.headers.get("etag");
    if (!etag) throw new Error(`${t.name} sends no ETag`);
    headers["If-None-Match"] = etag;
    const check = await fetch(t.base + s.path, { headers });
    if (check.status !== 304) throw new Error(`${t.name} answers ${check.status} to If-None-Match`);
  } else {
    const r = await fetch(t.base + s.path, { headers });
    const body = new Uint8Array(await r.arrayBuffer());
    const want = s.path === "/" ? page : file100k;
    if (r.status !== 200 || Bun.hash(body) !== Bun.hash(want)) throw new Error(`${t.name} serves wrong bytes for ${s.path}`);
  }
  const args = ["taskset", "-c", CLIENT_CPU, "wrk", "-t1", `-c${CONNECTIONS}`, `-d${seconds}s`];
  for (const [k, v] of Object.entries(headers)) args.push("-H", `${k}: ${v}`);
  args.push(t.base + s.path);
  const cpu0 = cpuSeconds(t.pid);
  const p = Bun.spawn(args, { stdout: "pipe", stderr: "pipe" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  const cpu = cpuSeconds(t.pid) - cpu0;
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  const total = /(\d+) requests in/.exec(out);
  if (!m || !total) throw new Error(`wrk output unreadable:\n${out}`);
  if (/Non-2xx or 3xx responses/.test(out) && !s.conditional) throw new Error(`${t.name}: errors during the run\n${out}`);
  return { rps: Number(m[1]), perCpu: Number(total[1]) / Math.max(cpu, 0.01) };
}

function rss(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rss: kb("VmRSS") / 1024, peak: kb("VmHWM") / 1024 };
}

async function main(): Promise<void> {
  ensureTool("wrk", "wrk");
  ensureTool("taskset", "util-linux");
  const both = opts.analytics === "both";
  const fazt = await startFazt("fazt", opts.analytics === "off" ? "off" : "on");
  const targets = [fazt, await startNginx(), await startCaddy(), await startFloor(fazt)];
  if (both) targets.push(await startFazt("fazt-off", "off"));
  const results = new Map<string, Map<string, Run>>();
  for (const s of SCENARIOS) {
    const row = new Map<string, Run>();
    for (const t of targets) await wrk(t, s, 2); // warm-up
    for (let i = 0; i < REPEAT; i++) {
      for (const t of targets) {
        const run = await wrk(t, s, DURATION);
        const best = row.get(t.name);
        row.set(t.name, { rps: Math.max(best?.rps ?? 0, run.rps), perCpu: Math.max(best?.perCpu ?? 0, run.perCpu) });
        console.error(`${s.name.padEnd(18)} ${t.name.padEnd(6)} ${run.rps.toFixed(0)} req/s, ${run.perCpu.toFixed(0)} req/CPU-s`);
      }
    }
    results.set(s.name, row);
  }
  const mem = rss(targets[0]!.pid);
  const fmt = (n: number) => n.toFixed(0).padStart(9);
  console.log(
    `\nfazt serving benchmark: best of ${REPEAT} × ${DURATION}s, ${CONNECTIONS} connections, server on CPU ${SERVER_CPU}, wrk on CPU ${CLIENT_CPU}, analytics ${opts.analytics}`,
  );
  for (const [title, pick] of [
    ["req/s", (r: Run) => r.rps],
    ["req per CPU-second of the server", (r: Run) => r.perCpu],
  ] as const) {
    console.log(`\n${title}`);
    const offHead = both ? `${"fazt-off".padStart(9)}` : "";
    console.log(
      `${"scenario".padEnd(18)}${"fazt".padStart(9)}${offHead}${"nginx".padStart(9)}${"caddy".padStart(9)}${"floor".padStart(9)}  fazt/nginx  fazt/caddy  fazt/floor  floor/nginx${both ? "  on/off" : ""}`,
    );
    for (const [name, row] of results) {
      const [f, n, c, b] = ["fazt", "nginx", "caddy", "floor"].map((k) => pick(row.get(k)!)) as [number, number, number, number];
      const off = both ? pick(row.get("fazt-off")!) : 0;
      const ratio = (x: number, w = 9) => `${x.toFixed(2).padStart(w)}x`;
      const offCols = both ? [fmt(off), ratio(f / off, 6)] : ["", ""];
      console.log(
        `${name.padEnd(18)}${fmt(f)}${offCols[0]}${fmt(n)}${fmt(c)}${fmt(b)}  ${ratio(f / n)}  ${ratio(f / c)}  ${ratio(f / b)}  ${ratio(b / n, 10)}${offCols[1] ? `  ${offCols[1]}` : ""}`,
      );
    }
  }
  console.log(`fazt RSS after the run: ${mem.rss.toFixed(1)} MB (peak ${mem.peak.toFixed(1)} MB)`);
}

try {
  await main();
} finally {
  for (const p of started) p.kill("SIGTERM");
  await Promise.all(started.map((p) => Promise.race([p.exited, Bun.sleep(5000)])));
  for (const p of started) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
