// The analytics byte budget against the real server: anonymous traffic with
// distinct long paths and referrers (misses, SPA documents, bots) grows the
// database by a bounded amount, while the report's views, visitors and bytes
// for normal traffic stay exact.
import { describe, expect, test, afterAll } from "bun:test";
import { join } from "node:path";
import { statSync, existsSync } from "node:fs";
import { Database } from "bun:sqlite";
import { startFazt, hostFetch, api, tempDir, cleanup, type FaztProcess } from "./helpers/fazt.ts";
import { seedSite } from "./helpers/seed.ts";
import { UA } from "./helpers/agents.ts";
import { waitFor } from "./helpers/wait.ts";
import { metric } from "./helpers/metrics.ts";
import type { AnalyticsReport } from "../src/analytics/index.ts";
import { MAX_EVENT_ROWS_PER_HOUR } from "../src/analytics/writer.ts";
import { MAX_NAMES_PER_DAY } from "../src/analytics/breakdowns.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanup));

const PAGE = "<h1>blog</h1>";
const ABOUT = "<p>about</p>";
const CSS = "body{color:red}";
const NOT_FOUND_BYTES = "<!doctype html><title>404 Not Found</title><h1>404 Not Found</h1>\n".length;
const BUDGET = 1024 * 1024; // --analytics-max-bytes
/** Largest raw event the estimate allows: path and referrer origin clipped at 512, UA families, visitor hash. */
const MAX_EVENT_BYTES = 64 + 512 + 512 + 64 + 16;
/** Largest daily breakdown name: a clipped path or a referrer origin. */
const MAX_NAME_BYTES = 512 + 40;

function dbBytes(db: string): number {
  return [db, `${db}-wal`].reduce((n, p) => n + (existsSync(p) ? statSync(p).size : 0), 0);
}

const rand = (n: number) => Array.from(crypto.getRandomValues(new Uint8Array(n / 2)), (b) => b.toString(16).padStart(2, "0")).join("");

/** Run `count` requests made by `make(i)`, `width` at a time; every answer read to the end. */
async function flood(count: number, width: number, make: (i: number) => Promise<Response>): Promise<number[]> {
  const statuses: number[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const res = await make(next++);
        await res.arrayBuffer();
        statuses.push(res.status);
      }
    }),
  );
  return statuses;
}

/**
 * One round of hostile traffic: misses with 8 KB paths (the longest a site accepts: 8,192 characters, longer is a 414),
 * SPA documents with long paths, bots; all with 2 KB referrers.
 */
async function hostileRound(f: FaztProcess, n: number): Promise<void> {
  const referer = () => `https://${rand(60)}.example/${rand(2000)}`;
  const misses = await flood(n, 16, () =>
    hostFetch(f, "blog.localhost", `/${rand(8_000)}`, { headers: { "user-agent": UA.chrome, referer: referer() } }),
  );
  expect(new Set(misses)).toEqual(new Set([404]));
  const docs = await flood(n, 16, () =>
    hostFetch(f, "spa.localhost", `/${rand(2000)}`, { headers: { "user-agent": UA.firefox, referer: referer() } }),
  );
  expect(new Set(docs)).toEqual(new Set([200]));
  const bots = await flood(n / 4, 16, () =>
    hostFetch(f, "spa.localhost", `/${rand(2000)}`, { headers: { "user-agent": `${UA.googlebot} ${rand(200)}`, referer: referer() } }),
  );
  expect(new Set(bots)).toEqual(new Set([200]));
}

async function report(f: FaztProcess, site: string): Promise<AnalyticsReport> {
  const res = await api(f, `/api/sites/${site}/analytics`);
  expect(res.status).toBe(200);
  return (await res.json()) as AnalyticsReport;
}

describe("analytics byte budget", () => {
  test("hostile distinct long paths and referrers grow the database by a bounded amount; normal traffic's report stays exact", async () => {
    const dir = tempDir();
    dirs.push(dir);
    const db = join(dir, "fazt.db");
    seedSite(db, "blog", { "/index.html": PAGE, "/about.html": ABOUT, "/app.css": CSS });
    seedSite(db, "spa", { "/index.html": "<h1>spa</h1>", "/200.html": "<div id=app></div>" });
    const f = await startFazt({ dir, env: { FAZT_TRUST_PROXY: "true", FAZT_ANALYTICS_MAX_BYTES: String(BUDGET) } });
    try {
      // Normal traffic: 3 visitors (address x browser), pages, an asset and revalidations of both.
      const visitors = [
        ["198.51.100.1", UA.chrome],
        ["198.51.100.2", UA.chrome],
        ["198.51.100.1", UA.iphone],
      ] as const;
      let views = 0;
      let bytes = 0;
      for (const [ip, ua] of visitors) {
        const headers = { "user-agent": ua, "x-forwarded-for": ip, referer: "https://news.example.com/item?id=7" };
        for (const [path, body] of [
          ["/", PAGE],
          ["/about.html", ABOUT],
          ["/app.css", CSS],
          ["/", PAGE],
        ] as const) {
          const res = await hostFetch(f, "blog.localhost", path, { headers });
          expect(await res.text()).toBe(body);
          bytes += body.length;
          if (path !== "/app.css") views++;
          const again = await hostFetch(f, "blog.localhost", path, { headers: { ...headers, "if-none-match": res.headers.get("etag")! } });
          expect(again.status).toBe(304);
          await again.arrayBuffer();
          if (path !== "/app.css") views++;
        }
      }
      // Wait for the first flush so the baseline includes the schema's and the first writes' pages.
      const viewsCounted = async () => (await report(f, "blog")).totals.views === views;
      await waitFor(viewsCounted, { what: "the normal traffic's views", timeoutMs: 15_000 });
      const before = dbBytes(db);

      const n = 2400; // SPA documents per round: more than the site's raw rows per hour
      expect(n).toBeGreaterThan(MAX_EVENT_ROWS_PER_HOUR);
      await hostileRound(f, n);
      const missBytes = n * NOT_FOUND_BYTES;
      const spaRequests = async () => (await report(f, "spa")).totals.requests;
      await waitFor(async () => (await spaRequests()) === n + n / 4, { what: "round 1 written", timeoutMs: 15_000 });
      const afterFirst = dbBytes(db);
      await hostileRound(f, n);
      await waitFor(async () => (await spaRequests()) === 2 * (n + n / 4), { what: "round 2 written", timeoutMs: 15_000 });
      // Pruning follows the write that went over the budget, in the background.
      const pruned = async () => (await metric(f, "fazt_analytics_event_bytes")) <= BUDGET;
      await waitFor(pruned, { what: "raw events pruned to the budget", timeoutMs: 15_000 });
      expect(await metric(f, "fazt_analytics_dropped_events_total")).toBe(0);
      const after = dbBytes(db);

      // The bound from the caps: raw events of one site and at most two UTC hours, the SPA's path and
      // referrer names of at most two days, doubled for B-tree pages and free space; plus a WAL that
      // holds one checkpoint's worth (1000 pages) and the largest write transaction.
      const events = 2 * (MAX_EVENT_ROWS_PER_HOUR + 1) * MAX_EVENT_BYTES;
      const names = 2 * 2 * MAX_NAMES_PER_DAY * MAX_NAME_BYTES;
      const bound = 2 * (events + names) + 2 * 1000 * 4096;
      const sent = 2 * n * (8_000 + 2000 + 2060) + 2 * (n + n / 4) * (2000 + 2060);
      console.log(
        `hostile analytics: ${4 * n + n / 2} requests (${(sent / 2 ** 20).toFixed(0)} MiB of paths and referrers); ` +
          `db+wal grew ${((afterFirst - before) / 2 ** 20).toFixed(2)} MiB in round 1, ` +
          `${((after - afterFirst) / 2 ** 20).toFixed(2)} MiB in round 2 (bound ${(bound / 2 ** 20).toFixed(1)} MiB)`,
      );
      expect(after - before).toBeLessThan(bound);
      // The second round only added to capped rows and counts.
      expect(after - afterFirst).toBeLessThan(2 * 1000 * 4096);

      // Normal traffic plus the counted misses: views, visitors and bytes exact.
      const blog = await report(f, "blog");
      expect(blog.totals.views).toBe(views);
      expect(blog.totals.visitors).toBe(3);
      expect(blog.totals.bytes).toBe(bytes + 2 * missBytes);
      expect(blog.totals.human_bytes).toBe(bytes + 2 * missBytes);
      expect(blog.totals.bot_bytes).toBe(0);
      expect(blog.status["4xx"]).toBe(2 * n);
      expect(blog.paths).toEqual([
        { path: "/", views: 12 },
        { path: "/about.html", views: 6 },
      ]);
      expect(blog.referrers).toEqual([{ referrer: "https://news.example.com", views }]);
      // The SPA's documents: every view counted, bots and their bytes apart.
      const spa = await report(f, "spa");
      const spaPage = "<div id=app></div>".length;
      expect(spa.totals.views).toBe(2 * n);
      expect(spa.totals.bots).toBe(2 * (n / 4));
      expect(spa.totals.human_bytes).toBe(2 * n * spaPage);
      expect(spa.totals.bot_bytes).toBe(2 * (n / 4) * spaPage);
      expect(spa.paths.some((p) => p.path === "(other)")).toBe(true);

      expect((await api(f, "/api/health")).status).toBe(200);
      expect((await hostFetch(f, "blog.localhost", "/", { headers: { "user-agent": UA.chrome } })).status).toBe(200);
    } finally {
      await f.stop();
    }
    const d = new Database(db, { readonly: true });
    try {
      expect((d.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
      // No raw rows for misses or bots; the SPA's raw rows capped per hour (plus one "(other)" row).
      const perHour = "SELECT site_id, ts / 3600000 AS hour, count(*) AS n FROM analytics_events GROUP BY 1, 2";
      const rows = d.query(perHour).all() as { n: number }[];
      for (const row of rows) expect(row.n).toBeLessThanOrEqual(MAX_EVENT_ROWS_PER_HOUR + 1);
      expect((d.query("SELECT count(*) AS n FROM analytics_events WHERE status = 404 OR bot = 1").get() as { n: number }).n).toBe(0);
      const longest = d.query("SELECT max(length(referrer)) AS n FROM analytics_events").get() as { n: number };
      expect(longest.n).toBeLessThan(200); // origins, not 2 KB referrers
    } finally {
      d.close();
    }
  }, 120_000);
});
