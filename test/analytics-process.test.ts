// Analytics against the real server process: counts seen through the API, the
// CLI and /metrics; no event lost on SIGTERM under load; bounded loss on SIGKILL.
import { describe, expect, test, afterAll } from "bun:test";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { startFazt, hostFetch, api, runFazt, tempDir, cleanup, type FaztProcess } from "./helpers/fazt.ts";
import { seedSite } from "./helpers/seed.ts";
import { UA } from "./helpers/agents.ts";
import { waitFor } from "./helpers/wait.ts";
import type { AnalyticsReport } from "../src/analytics/index.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanup));

async function serverWithSite(env: Record<string, string> = {}): Promise<FaztProcess> {
  const dir = tempDir();
  dirs.push(dir);
  seedSite(join(dir, "fazt.db"), "blog", { "/index.html": "<h1>blog</h1>", "/about.html": "<p>about</p>" });
  return startFazt({ dir, env });
}

/** Hammer the site with `workers` concurrent keep-alive loops (each pausing `pauseMs` between requests) until stop() or the server goes away. */
function load(f: FaztProcess, workers = 16, pauseMs = 0) {
  const okAt: number[] = [];
  let running = true;
  const startedAt = Date.now();
  const loops = Array.from({ length: workers }, async (_, w) => {
    while (running) {
      try {
        const res = await hostFetch(f, "blog.localhost", w % 2 ? "/" : "/about.html", { headers: { "user-agent": UA.chrome } });
        await res.arrayBuffer();
        if (res.status === 200) okAt.push(Date.now());
        if (pauseMs) await Bun.sleep(pauseMs);
      } catch {
        return; // the server stopped listening
      }
    }
  });
  /** The load's duration is the test's input (how much traffic, where the kill falls), not a wait for an outcome. */
  const ranFor = (ms: number) => Bun.sleep(Math.max(0, startedAt + ms - Date.now()));
  return { okAt, ranFor, done: () => Promise.all(loops), stop: () => void (running = false) };
}

function eventCount(db: string): number {
  const d = new Database(db, { readonly: true });
  try {
    expect((d.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
    // A row stands for `hits` identical requests.
    return (d.query("SELECT coalesce(sum(hits), 0) AS n FROM analytics_events").get() as { n: number }).n;
  } finally {
    d.close();
  }
}

describe("analytics in the running server", () => {
  test("300 requests from 3 user agents: 300 views, 3 visitors, paths and referrers, visible within 2 s", async () => {
    const f = await serverWithSite();
    try {
      const agents = [UA.chrome, UA.firefox, UA.iphone];
      const sendStart = Date.now();
      await Promise.all(
        Array.from({ length: 300 }, async (_, i) => {
          const res = await hostFetch(f, "blog.localhost", i % 3 === 0 ? "/about.html?utm=x" : "/", {
            headers: { "user-agent": agents[i % 3]!, referer: i % 2 ? "https://news.example.com/item" : "https://blog.localhost/" },
          });
          expect(res.status).toBe(200);
          await res.arrayBuffer();
        }),
      );
      const servedAt = Date.now();
      const flushIntervals = Math.ceil((servedAt - sendStart) / 1000) + 1;
      const report = await waitFor(
        async () => {
          const r = (await (await api(f, "/api/sites/blog/analytics")).json()) as AnalyticsReport;
          return r.totals.views === 300 ? r : null;
        },
        { what: "300 views in the report (the flusher writes every second)", timeoutMs: 2000, everyMs: 50 },
      );
      expect(report.totals.visitors).toBe(3);
      expect(report.totals.bytes).toBe(200 * "<h1>blog</h1>".length + 100 * "<p>about</p>".length);
      expect(report.series.at(-1)).toMatchObject({ views: 300, visitors: 3 });
      expect(report.paths).toEqual([
        { path: "/", views: 200 },
        { path: "/about.html", views: 100 },
      ]);
      expect(report.referrers).toEqual([{ referrer: "https://news.example.com", views: 150 }]);
      expect(report.browsers.map((b) => b.name).sort()).toEqual(["Chrome", "Firefox", "Mobile Safari"]);
      // Raw events: 6 kinds of request (client x referrer), folded per flush interval into rows that count them.
      const d = new Database(f.db, { readonly: true });
      const raw = d.query("SELECT count(*) AS rows, sum(hits) AS hits FROM analytics_events").get() as { rows: number; hits: number };
      d.close();
      expect(raw.hits).toBe(300);
      expect(raw.rows).toBeLessThanOrEqual(6 * flushIntervals);

      const cli = await runFazt(["stats", "blog"], { env: { FAZT_SERVER: f.url, FAZT_TOKEN: f.token! } });
      expect(cli.code).toBe(0);
      expect(cli.stdout).toMatch(/views 300\s+visitors 3/);
      expect(cli.stdout).toMatch(/bytes [\d.]+ KiB\s+humans [\d.]+ KiB\s+bots 0 B/);
      expect(cli.stdout).toContain("news.example.com");
      const bad = await runFazt(["stats", "blog", "--from", "2026-13-01"], { env: { FAZT_SERVER: f.url, FAZT_TOKEN: f.token! } });
      expect(bad.code).toBe(1);
      expect(bad.stderr).toContain("from: expected a date");

      const metrics = await api(f, "/metrics");
      expect(metrics.status).toBe(200);
      expect(metrics.headers.get("content-type")).toContain("text/plain");
      const text = await metrics.text();
      expect(text).toContain('fazt_http_requests_total{host="site",code="2xx"} 300');
      expect(text).toMatch(/^fazt_analytics_dropped_events_total 0$/m);
      expect(text).toMatch(/^fazt_analytics_buffered_events \d+$/m);
      expect((await api(f, "/metrics", { token: null })).status).toBe(401);
      const siteToken = ((await (await api(f, "/api/sites/blog/tokens", { method: "POST" })).json()) as { token: string }).token;
      expect((await api(f, "/metrics", { token: siteToken })).status).toBe(403);
    } finally {
      await f.stop();
    }
  });

  test("SIGTERM under load: every answered request is in the database", async () => {
    const f = await serverWithSite();
    const l = load(f);
    await l.ranFor(1500); // long enough for flushed and still-buffered events
    expect(await f.stop("SIGTERM")).toBe(0);
    l.stop();
    await l.done();
    const events = eventCount(f.db);
    console.log(`SIGTERM: ${l.okAt.length} answered, ${events} in the database`);
    expect(events).toBeGreaterThanOrEqual(l.okAt.length); // nothing lost
    expect(events).toBeLessThanOrEqual(l.okAt.length + 16); // at most the requests cut off mid-answer
    expect(f.stderr()).not.toContain("events lost");
  }, 30_000);

  // Saturated, full batches are written as soon as they fill; paced (~200 req/s), only the 1 s timer
  // writes, and the kill comes half-way between two timer flushes (the timer starts with the server).
  for (const [label, workers, pauseMs, runMs] of [
    ["saturated", 16, 0, 3000],
    ["paced", 4, 20, 3500],
  ] as const) {
    test(`SIGKILL (${label} load) loses at most about the last flush interval`, async () => {
      const f = await serverWithSite();
      const l = load(f, workers, pauseMs);
      await l.ranFor(runMs);
      const killedAt = Date.now();
      await f.stop("SIGKILL");
      l.stop();
      await l.done();
      const events = eventCount(f.db);
      const answered = l.okAt.length;
      // The flusher writes every second; allow its interval plus the time a batch write takes.
      const recent = l.okAt.filter((t) => t > killedAt - 1500).length;
      console.log(`SIGKILL ${label}: ${answered} answered, ${events} in the database, ${recent} in the last 1.5 s`);
      expect(events).toBeGreaterThan(0);
      expect(answered - events).toBeLessThanOrEqual(recent);
      expect(events).toBeLessThanOrEqual(answered + workers);
    }, 30_000);
  }

  test("X-Forwarded-For decides the visitor only with --trust-proxy", async () => {
    const visitorsFor = async (env: Record<string, string>) => {
      const f = await serverWithSite(env);
      try {
        for (const ip of ["198.51.100.1", "198.51.100.2", "198.51.100.3", "198.51.100.3"]) {
          const res = await hostFetch(f, "blog.localhost", "/", {
            headers: { "user-agent": UA.chrome, "x-forwarded-for": `6.6.6.6, ${ip}` },
          });
          await res.arrayBuffer();
        }
      } finally {
        await f.stop(); // flushes
      }
      const d = new Database(f.db, { readonly: true });
      const n = (d.query("SELECT count(DISTINCT visitor) AS n FROM analytics_events").get() as { n: number }).n;
      d.close();
      return n;
    };
    expect(await visitorsFor({ FAZT_TRUST_PROXY: "true" })).toBe(3);
    expect(await visitorsFor({})).toBe(1); // all from 127.0.0.1: the header is ignored
  });

  test("bytes are the body bytes sent: whole file, range, none for 304 and HEAD, the 404 page; only documents are events", async () => {
    const f = await serverWithSite();
    const sent: [string, RequestInit][] = [
      ["/", {}],
      ["/", { headers: { range: "bytes=0-3" } }],
      ["/", { headers: { "if-none-match": "*" } }],
      ["/", { method: "HEAD" }],
      ["/missing", {}],
    ];
    try {
      for (const [path, init] of sent) {
        const headers = { "user-agent": UA.firefox, ...(init.headers as Record<string, string>) };
        await (await hostFetch(f, "blog.localhost", path, { ...init, headers })).arrayBuffer();
      }
    } finally {
      await f.stop(); // flushes
    }
    const d = new Database(f.db, { readonly: true });
    // The GET and the HEAD of / are alike but for bytes: one row, two hits, the GET's bytes.
    const rows = d.query("SELECT status, bytes, hits FROM analytics_events ORDER BY id").all();
    // The range answer and the miss are counted per class, not as events.
    const classes = d.query("SELECT class, status, requests, bytes FROM analytics_hourly_classes ORDER BY status").all();
    const total = (d.query("SELECT sum(bytes) AS n FROM analytics_hourly").get() as { n: number }).n;
    d.close();
    expect(rows).toEqual([
      { status: 200, bytes: "<h1>blog</h1>".length, hits: 2 },
      { status: 304, bytes: 0, hits: 1 },
    ]);
    const notFound = (classes[3] as { bytes: number }).bytes;
    expect(notFound).toBeGreaterThan(0);
    expect(classes).toEqual([
      { class: "page", status: 200, requests: 2, bytes: "<h1>blog</h1>".length },
      { class: "page", status: 206, requests: 1, bytes: 4 },
      { class: "page", status: 304, requests: 1, bytes: 0 },
      { class: "none", status: 404, requests: 1, bytes: notFound },
    ]);
    expect(total).toBe("<h1>blog</h1>".length + 4 + notFound);
  });

  test("--analytics off records nothing and still counts requests in /metrics", async () => {
    const f = await serverWithSite({ FAZT_ANALYTICS: "off" });
    try {
      for (let i = 0; i < 5; i++) await (await hostFetch(f, "blog.localhost", "/")).arrayBuffer();
      expect(await (await api(f, "/metrics")).text()).toContain('fazt_http_requests_total{host="site",code="2xx"} 5');
    } finally {
      await f.stop();
    }
    expect(eventCount(f.db)).toBe(0);
  });
});
