// Hostile rules files and request paths against a real fazt over HTTP
// (issue 10, items 2, 3, 5, 6, 10; corpus in test/corpus/rules/). After each
// case: the API answers within 1 s, another site serves, its live deploy is
// unchanged, and the server's event loop was never held long
// (fazt_event_loop_busy_max_seconds: lateness of the server's own 10 ms timer
// bounded by the CPU its main thread used meanwhile, so a loaded test machine
// does not blur it). A table of every case's time and worst event-loop hold
// (busy, and wall clock for reference) is printed at the end.
// The server runs as deployed (analytics on), so the memory bound covers
// everything a flood of distinct paths touches.
import { describe, expect, test, beforeAll, afterAll } from "bun:test";
import { readFileSync } from "node:fs";
import { startFazt, tempDir, cleanup, hostFetch, api, type FaztProcess } from "./helpers/fazt.ts";
import { makeTarGz } from "./helpers/archives.ts";
import { refusedAtDeploy, maxRules, formerlyBacktracking, hostileTarget, rng } from "./corpus/rules/index.ts";

/** No case may hold the event loop longer (before the fix: seconds to minutes). */
const HOLD_MS = 50;
/** Nothing, not even a collection during a flood, may come near a freeze. */
const FREEZE_MS = 250;
const MiB = 1024 * 1024;

let f: FaztProcess;
let victimDeploy: string;
const table: { name: string; ms: number; busyMs: number; wallMs: number; detail: string; rssMB?: number }[] = [];

async function deploy(site: string, files: Record<string, string>): Promise<Response> {
  const body = await makeTarGz(Object.entries(files).map(([name, data]) => ({ name: name.slice(1), data })));
  return api(f, `/api/sites/${site}/deploys`, { method: "POST", body });
}

async function deployOk(site: string, files: Record<string, string>): Promise<string> {
  const r = await deploy(site, files);
  expect(r.status).toBe(201);
  return ((await r.json()) as { id: string }).id;
}

/** One scrape of /metrics (it also resets the event-loop gauges). */
async function scrape(): Promise<(name: string, labels?: string) => number> {
  const text = await (await api(f, "/metrics")).text();
  return (name, labels) => Number(new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ""} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
}

function rss(): { now: number; peak: number } {
  const status = readFileSync(`/proc/${f.proc.pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)![1]) * 1024;
  return { now: kb("VmRSS"), peak: kb("VmHWM") };
}

/** The server is still fine: API within 1 s, the victim site serves its live deploy. */
async function healthy(): Promise<void> {
  const health = await api(f, "/api/health", { signal: AbortSignal.timeout(1000) });
  expect(health.status).toBe(200);
  const home = await hostFetch(f, "victim.localhost", "/");
  expect(await home.text()).toBe("victim home");
  const site = (await (await api(f, "/api/sites/victim")).json()) as { live_deploy: string };
  expect(site.live_deploy).toBe(victimDeploy);
}

/** Run one hostile case; record how long it took and the worst event-loop hold while it ran. */
async function measure<T>(name: string, fn: () => Promise<T>, detail = ""): Promise<T> {
  await scrape();
  const t0 = performance.now();
  const result = await fn();
  const ms = performance.now() - t0;
  const loop = await scrape();
  const busyMs = loop("fazt_event_loop_busy_max_seconds") * 1000;
  table.push({ name, ms, busyMs, wallMs: loop("fazt_event_loop_lag_max_seconds") * 1000, detail, rssMB: rss().now / MiB });
  await healthy();
  expect(busyMs).toBeLessThan(HOLD_MS);
  return result;
}

/** n requests, `concurrency` at a time; the count of each status. */
async function flood(n: number, concurrency: number, target: (i: number) => [string, string]): Promise<Map<number, number>> {
  const statuses = new Map<number, number>();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const [host, path] = target(next++);
      const r = await hostFetch(f, host, path);
      await r.arrayBuffer();
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

const hostile = (path: string) => hostFetch(f, "hostile.localhost", path);

/** A fresh server (in its own directory) with the victim and hostile sites. */
async function freshServer(): Promise<void> {
  f = await startFazt({ dir: tempDir() });
  for (const name of ["victim", "hostile"]) expect((await api(f, "/api/sites", { method: "POST", json: { name } })).status).toBe(201);
  victimDeploy = await deployOk("victim", { "/index.html": "victim home", "/style.css": "body{}", "/404.html": "victim 404" });
  await deployOk("hostile", { "/index.html": "hostile home" });
}

beforeAll(freshServer);

afterAll(async () => {
  if (table.length > 0) {
    const rows = table.map((r) => {
      const rssMB = r.rssMB === undefined ? "" : r.rssMB.toFixed(0);
      return `| ${r.name} | ${r.ms.toFixed(1)} | ${r.busyMs.toFixed(1)} | ${r.wallMs.toFixed(1)} | ${rssMB} | ${r.detail} |`;
    });
    const head = "| hostile case | ms to answer | worst event-loop hold, busy (ms) | wall-clock lag (ms) | RSS after (MB) | detail |";
    console.log(["", head, "|---|---:|---:|---:|---:|---|", ...rows].join("\n"));
  }
  await f?.stop();
  if (f) cleanup(f.dir);
});

describe("rules files refused at deploy (400 naming the file, line and limit)", () => {
  test("every refused corpus entry; the live deploy stays", async () => {
    const live = ((await (await api(f, "/api/sites/hostile")).json()) as { live_deploy: string }).live_deploy;
    for (const c of refusedAtDeploy) {
      const r = await measure(`deploy: ${c.name}`, () => deploy("hostile", c.files), `400 ${c.code}`);
      expect(r.status).toBe(400);
      const body = (await r.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe(c.code);
      const file = Object.keys(c.files)[0]!.slice(1);
      expect(body.error.message).toStartWith(`${file} line ${c.line ?? 1}:`);
      expect(await (await hostile("/")).text()).toBe("hostile home");
    }
    const after = ((await (await api(f, "/api/sites/hostile")).json()) as { live_deploy: string }).live_deploy;
    expect(after).toBe(live);
  }, 120_000);
});

describe("matching is linear in the path", () => {
  test("rules that backtracked with a RegExp answer at once on long paths", async () => {
    await deployOk("hostile", { "/index.html": "hostile home", "/_redirects": formerlyBacktracking });
    expect((await hostile("/a/b/c/y")).headers.get("location")).toBe("/found");
    expect((await hostile("/xa/ya/za/wa/vb")).headers.get("location")).toBe("/found");
    expect((await hostile("/x/1/2/3")).headers.get("location")).toBe("/x-rest/1/2/3");
    const cases: [string, string][] = [
      ["60-char path vs /*a*a*…*b's shape", `/${"a".repeat(59)}`],
      ["8 KB one-segment path", `/${"a".repeat(8000)}`],
      ["8 KB path of 255 segments", `/${"a".repeat(30)}`.repeat(255)],
      ["255 one-letter segments", "/a".repeat(255)],
    ];
    for (const [name, path] of cases) {
      const r = await measure(name, () => hostile(path), `${path.length} chars`);
      expect(r.status).toBe(404);
    }
  }, 60_000);

  test("10,000 rules: correct answers, bounded per request, compiled once per deploy", async () => {
    const rules = maxRules();
    const files = { "/index.html": "hostile home", "/_redirects": rules };
    await measure("deploy: 10,000 rules (max)", () => deployOk("hostile", files), `${rules.length} bytes`);
    const expectations: [string, string][] = [
      ["/old/page-1666", "/new/1666"],
      ["/p5/a/b", "/q/a/b"],
      ["/k/l/m/y7", "/z/m"],
      ["/g3abc/xyz/page.html", "/h/page"],
      ["/s2/deep/er", "/t/deep/er"],
      ["/q4?id=9", "/r/9"],
    ];
    const first = await measure("first request, 10,000 rules", () => hostile(expectations[0]![0]));
    expect(first.headers.get("location")).toBe(expectations[0]![1]);
    for (const [path, location] of expectations) expect((await hostile(path)).headers.get("location")).toBe(location);
    expect((await hostile("/q4")).status).toBe(404);
    // A deploy elsewhere empties the response caches; the compiled rules of this deploy are kept.
    await api(f, "/api/sites", { method: "POST", json: { name: "other" } });
    await deployOk("other", { "/index.html": "other" });
    const again = await measure("first request after a cache reset", () => hostile("/s9/after/reset"));
    expect(again.headers.get("location")).toBe("/t/after/reset");
    const r = rng(7);
    const paths = () => flood(2000, 16, () => ["hostile.localhost", hostileTarget(r)]);
    const statuses = await measure("2,000 hostile paths, 10,000 rules", paths, "16 at a time");
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
  }, 120_000);
});

describe("_headers and _redirects values clients can read", () => {
  test("separate Set-Cookie lines; a cookie may name the site's own host; Latin-1 values serve; non-ASCII targets encoded", async () => {
    await deployOk("hostile", {
      "/index.html": "hostile home",
      "/_headers": [
        "/*",
        "  Set-Cookie: a=1; Path=/",
        "  Set-Cookie: b=2; Domain=hostile.localhost",
        "  X-Frame-Options: DENY",
        "  X-Latin: café",
        "",
      ].join("\n"),
      "/_redirects": "/euro /€ 302\n/ext https://bücher.example/ä 302\n",
    });
    const r = await hostile("/");
    expect(r.headers.getSetCookie()).toEqual(["a=1; Path=/", "b=2; Domain=hostile.localhost"]);
    expect(r.headers.get("x-frame-options")).toBe("DENY");
    expect(r.headers.get("x-latin")).toBe("café");
    const notModified = await hostFetch(f, "hostile.localhost", "/", { headers: { "if-none-match": r.headers.get("etag")! } });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.getSetCookie()).toHaveLength(2);
    expect((await hostile("/euro")).headers.get("location")).toBe("/%E2%82%AC");
    expect((await hostile("/ext")).headers.get("location")).toBe("https://xn--bcher-kva.example/%C3%A4");
  });
});

describe("request path bounds (before any lookup)", () => {
  test("too long or too deep: 414 naming the limit", async () => {
    const cases: [string, string, string][] = [
      ["9,000-character path", `/${"a".repeat(8999)}`, "8192 characters"],
      ["300 segments", "/a".repeat(300), "256 segments"],
      ["300 encoded slashes", `/a${"%2Fa".repeat(300)}`, "256 segments"],
      ["/x + 7,500 × /a (old 404 walk)", `/x${"/a".repeat(7500)}`, "8192 characters"],
    ];
    for (const [name, path, limit] of cases) {
      const r = await measure(name, () => hostile(path), `${path.length} chars`);
      expect(r.status).toBe(414);
      expect(await r.text()).toContain(limit);
    }
  });
});

describe("404 pages on deep paths", () => {
  test("the nearest 404.html at bounded cost, whatever the depth", async () => {
    const pages = { "/404.html": "root 404", "/a/404.html": "a 404", "/a/b/c/404.html": "c 404" };
    await deployOk("hostile", { "/index.html": "hostile home", ...pages });
    expect(await (await hostile(`/x${"/a".repeat(250)}`)).text()).toBe("root 404");
    expect(await (await hostile(`/a${"/q".repeat(250)}`)).text()).toBe("a 404");
    expect(await (await hostile(`/a/b/c${"/q".repeat(250)}`)).text()).toBe("c 404");
    expect(await (await hostile("/a/b/missing")).text()).toBe("a 404");
    const statuses = await measure(
      "600 distinct 250-deep 404s, 30 at a time",
      () => flood(600, 30, (i) => ["hostile.localhost", `/a/${i}${"/q".repeat(248)}`]),
      "each ~500 chars",
    );
    expect(statuses.get(404)).toBe(600);
  }, 60_000);
});

describe("the response cache under distinct paths", () => {
  test("misses are charged by key bytes, stay in their own budget and evict no site file", async () => {
    for (const p of ["/", "/style.css"]) await (await hostFetch(f, "victim.localhost", p)).arrayBuffer();
    const before = await scrape();
    const mainEntries = before("fazt_cache_entries");
    const rssBefore = rss().now;
    const statuses = await measure(
      "10,000 distinct ~8 KB 404 paths",
      () => flood(10_000, 32, (i) => ["victim.localhost", `/${i}-${"m".repeat(8000)}`]),
      "32 at a time",
    );
    expect(statuses.get(404)).toBe(10_000);
    const after = await scrape();
    expect(after("fazt_miss_cache_bytes")).toBeLessThanOrEqual(4 * MiB);
    // At most the shared 404 page joins the main cache; nothing was evicted from it.
    expect(after("fazt_cache_entries")).toBeGreaterThanOrEqual(mainEntries);
    expect(after("fazt_cache_entries")).toBeLessThanOrEqual(mainEntries + 1);
    const grown = rss().now - rssBefore;
    table.push({ name: "  RSS growth after the 10,000 misses", ms: 0, busyMs: 0, wallMs: 0, detail: `${(grown / MiB).toFixed(1)} MB` });
    expect(grown).toBeLessThan(64 * MiB);
  }, 120_000);
});

describe("a hostile flood next to a normal visitor", () => {
  test("after the whole corpus the server holds less than 200 MB", async () => {
    const mem = rss();
    const detail = `${(mem.now / MiB).toFixed(0)} MB, peak ${(mem.peak / MiB).toFixed(0)} MB`;
    table.push({ name: "RSS after the corpus", ms: 0, busyMs: 0, wallMs: 0, detail });
    expect(mem.now).toBeLessThan(200 * MiB);
  });

  // On a fresh server, so the number is the flood's and not what earlier cases left with the allocator.
  test("50,000 random long paths and queries: RSS stays under 200 MB, normal requests stay fast", async () => {
    const corpusServer = f;
    await corpusServer.stop();
    cleanup(corpusServer.dir);
    await freshServer();
    await deployOk("hostile", { "/index.html": "hostile home", "/404.html": "root 404", "/_redirects": maxRules() });
    let done = false;
    const latencies: number[] = [];
    const visitor = (async () => {
      while (!done) {
        const t0 = performance.now();
        const r = await hostFetch(f, "victim.localhost", "/style.css");
        await r.arrayBuffer();
        latencies.push(performance.now() - t0);
      }
    })();
    await scrape();
    const before = rss().now;
    const r = rng(42);
    const t0 = performance.now();
    const statuses = await flood(50_000, 32, () => ["hostile.localhost", hostileTarget(r)]);
    const seconds = (performance.now() - t0) / 1000;
    done = true;
    await visitor;
    const loop = await scrape();
    const busyP99 = loop("fazt_event_loop_busy_p99_seconds") * 1000;
    const busyMax = loop("fazt_event_loop_busy_max_seconds") * 1000;
    const mem = rss();
    const detail =
      `${(50_000 / seconds).toFixed(0)} req/s; statuses ${JSON.stringify(Object.fromEntries(statuses))}; ` +
      `normal request p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms ` +
      `(client side, ${latencies.length}); ` +
      `event-loop busy p99 ${busyP99.toFixed(1)} ms; RSS ${(before / MiB).toFixed(0)} MB before, ` +
      `${(mem.now / MiB).toFixed(0)} MB after, peak ${(mem.peak / MiB).toFixed(0)} MB`;
    const wallMs = loop("fazt_event_loop_lag_max_seconds") * 1000;
    table.push({ name: "50,000 hostile requests + a normal visitor", ms: seconds * 1000, busyMs: busyMax, wallMs, detail });
    expect([...statuses.keys()].every((s) => s < 500)).toBe(true);
    expect(mem.peak).toBeLessThan(200 * MiB);
    // Server-side: how long the loop was busy is what a concurrent request waits for, without the machine's contention.
    expect(busyP99).toBeLessThan(HOLD_MS);
    // The worst single hold over 50,000 requests includes collections of their garbage (16-90 ms seen): a freeze guard.
    expect(busyMax).toBeLessThan(FREEZE_MS);
    // Client-side p99 includes the shared machine's scheduling: generous, still far below the old seconds.
    expect(percentile(latencies, 99)).toBeLessThan(1000);
    await healthy();
  }, 300_000);
});
