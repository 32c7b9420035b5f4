// Analytics parts in process: the bounded buffer, the batch writer and its
// rollups, bot and client detection, pruning, and the report API's ranges.
import { describe, expect, test, afterAll } from "bun:test";
import { join } from "node:path";
import { Store } from "../src/db/index.ts";
import { App } from "../src/server/app.ts";
import { DEFAULT_ANALYTICS, DEFAULT_FORMS, DEFAULT_MAIL, DEFAULT_LIMITS, LETS_ENCRYPT, type ServerConfig } from "../src/core/config.ts";
import { createSite, deleteSite } from "../src/sites/index.ts";
import { createToken } from "../src/auth/tokens.ts";
import { createApi } from "../src/api/index.ts";
import { Recorder } from "../src/analytics/recorder.ts";
import { EventWriter, type Hit } from "../src/analytics/writer.ts";
import { classifyUserAgent, referrerHost } from "../src/analytics/classify.ts";
import { pruneEvents } from "../src/analytics/prune.ts";
import { Analytics, forwardedClient, siteReport, type AnalyticsReport } from "../src/analytics/index.ts";
import { DAY_MS, HOUR_MS, parseDay } from "../src/analytics/days.ts";
import { tempDir, cleanup } from "./helpers/fazt.ts";
import { UA } from "./helpers/agents.ts";

const dir = tempDir();
afterAll(() => cleanup(dir));
let dbN = 0;

function config(): ServerConfig {
  return {
    dbPath: "", http: null, https: null, domain: null, acmeEmail: null, acmeDirectory: LETS_ENCRYPT, acmeCaRoot: null,
    smtp: null, mailWebhookSecret: null, trustProxy: false, accessLog: false, limits: DEFAULT_LIMITS, analytics: DEFAULT_ANALYTICS, mail: DEFAULT_MAIL,
    forms: DEFAULT_FORMS,
  };
}

function freshStore(): Store {
  return Store.open(join(dir, `a${++dbN}.db`));
}


function hit(siteId: number, ts: number, over: Partial<Hit> = {}): Hit {
  return { ts, siteId, host: "blog.localhost", path: "/", status: 200, bytes: 100, referrer: null, ua: UA.chrome, ip: "203.0.113.1", hits: 1, ...over };
}

const count = (store: Store, sql: string, ...args: (string | number)[]) =>
  (store.read.query(sql).get(...args) as { n: number }).n;

describe("client classification", () => {
  test("browser, OS and device families from the User-Agent; bots flagged", () => {
    expect(classifyUserAgent(UA.chrome)).toEqual({ browser: "Chrome", os: "Windows", device: "desktop", bot: false });
    expect(classifyUserAgent(UA.iphone)).toMatchObject({ browser: "Mobile Safari", os: "iOS", device: "mobile", bot: false });
    expect(classifyUserAgent(UA.firefox)).toMatchObject({ browser: "Firefox", os: "Linux", bot: false });
    expect(classifyUserAgent(UA.googlebot).bot).toBe(true);
    expect(classifyUserAgent("curl/8.11.0").bot).toBe(true);
    expect(classifyUserAgent("").bot).toBe(true); // no User-Agent at all: not a person's browser
  });

  test("referrer host: external hosts only", () => {
    expect(referrerHost("https://News.Example.com/item?id=1", "blog.localhost")).toBe("news.example.com");
    expect(referrerHost("http://blog.localhost/other", "blog.localhost")).toBeNull();
    expect(referrerHost("not a url", "blog.localhost")).toBeNull();
    expect(referrerHost(null, "blog.localhost")).toBeNull();
  });

  test("forwarded client (used with --trust-proxy): the last X-Forwarded-For hop, else none", () => {
    const req = new Request("http://x/", { headers: { "x-forwarded-for": "6.6.6.6, 198.51.100.7" } });
    expect(forwardedClient(req)).toBe("198.51.100.7");
    expect(forwardedClient(new Request("http://x/", { headers: { "x-forwarded-for": "198.51.100.9" } }))).toBe("198.51.100.9");
    expect(forwardedClient(new Request("http://x/", { headers: { "x-forwarded-for": " , " } }))).toBeNull();
    expect(forwardedClient(new Request("http://x/"))).toBeNull();
  });
});

describe("batch writer", () => {
  test("events, hourly rollups, status classes, bots apart, visitors counted once per day", () => {
    const store = freshStore();
    const site = createSite(store, "blog");
    const w = new EventWriter(store);
    const day = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const h10 = day + 10 * HOUR_MS;
    w.write([
      hit(site.id, h10, { path: "/a", status: 200, bytes: 10 }),
      hit(site.id, h10 + 1, { path: "/a", status: 304, bytes: 0 }),
      hit(site.id, h10 + 2, { path: "/b", status: 404, bytes: 5, ua: UA.firefox }),
      hit(site.id, h10 + 3, { status: 500, bytes: 1, ua: UA.googlebot }),
    ]);
    // Same visitors an hour later: views grow, visitors do not (first sight counts).
    w.write([hit(site.id, h10 + HOUR_MS, { bytes: 7 }), hit(site.id, h10 + HOUR_MS + 1, { ip: "203.0.113.2", bytes: 3 })]);
    const rows = store.read.query("SELECT * FROM analytics_hourly ORDER BY hour").all() as Record<string, number>[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ views: 3, visitors: 2, bots: 1, bytes: 16, s2xx: 1, s3xx: 1, s4xx: 1, s5xx: 1 });
    expect(rows[1]).toMatchObject({ views: 2, visitors: 1, bots: 0, bytes: 10, s2xx: 2 });
    expect(count(store, "SELECT count(*) AS n FROM analytics_events")).toBe(6);
    expect(count(store, "SELECT count(*) AS n FROM analytics_events WHERE bot = 1")).toBe(1);
    // No raw IP is stored anywhere: the visitor is a 16-hex-digit hash.
    const visitors = store.read.query("SELECT DISTINCT visitor FROM analytics_events").all() as { visitor: string }[];
    for (const v of visitors) expect(v.visitor).toMatch(/^[0-9a-f]{16}$/);
    const dump = JSON.stringify(store.read.query("SELECT * FROM analytics_events").all());
    expect(dump).not.toContain("203.0.113");
    store.close();
  });

  test("a row folding several requests counts each of them in rollups and breakdowns, its visitor once", () => {
    const store = freshStore();
    const site = createSite(store, "blog");
    const w = new EventWriter(store);
    const h10 = Math.floor(Date.now() / DAY_MS) * DAY_MS + 10 * HOUR_MS;
    w.write([
      hit(site.id, h10, { path: "/a", bytes: 500, hits: 5, referrer: "https://r.example/x" }),
      hit(site.id, h10 + 1, { path: "/a", status: 304, bytes: 0, hits: 3 }),
      hit(site.id, h10 + 2, { ua: UA.googlebot, hits: 4 }),
    ]);
    expect(store.read.query("SELECT views, visitors, bots, bytes, s2xx, s3xx FROM analytics_hourly").get()).toEqual({
      views: 8, visitors: 1, bots: 4, bytes: 600, s2xx: 9, s3xx: 3,
    });
    expect(count(store, "SELECT sum(hits) AS n FROM analytics_events")).toBe(12);
    const top = (kind: string) => store.read.query("SELECT name, views FROM analytics_daily_top WHERE kind = ? ORDER BY name").all(kind);
    expect(top("path")).toEqual([{ name: "/a", views: 8 }]);
    expect(top("referrer")).toEqual([{ name: "r.example", views: 5 }]);
    expect(top("status")).toEqual([{ name: "200", views: 9 }, { name: "304", views: 3 }]);
    store.close();
  });

  test("the salt rotates daily: the same client is a new visitor the next day, and restarts keep the salt", () => {
    const store = freshStore();
    const site = createSite(store, "blog");
    const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    new EventWriter(store).write([hit(site.id, today - DAY_MS + 5), hit(site.id, today + 5)]);
    new EventWriter(store).write([hit(site.id, today + 6)]); // a new writer, as after a restart
    const v = store.read.query("SELECT visitor FROM analytics_events ORDER BY id").all() as { visitor: string }[];
    expect(v[0]!.visitor).not.toBe(v[1]!.visitor);
    expect(v[2]!.visitor).toBe(v[1]!.visitor);
    expect(count(store, "SELECT sum(visitors) AS n FROM analytics_hourly")).toBe(2);
    store.close();
  });

  test("hits of a site deleted meanwhile are skipped; deleting a site deletes its analytics", () => {
    const store = freshStore();
    const a = createSite(store, "a");
    const b = createSite(store, "b");
    const w = new EventWriter(store);
    w.write([hit(a.id, Date.now()), hit(b.id, Date.now())]);
    deleteSite(store, "b");
    expect(w.write([hit(a.id, Date.now()), hit(b.id, Date.now())])).toBe(1);
    expect(count(store, "SELECT count(*) AS n FROM analytics_events WHERE site_id = ?", b.id)).toBe(0);
    expect(count(store, "SELECT count(*) AS n FROM analytics_hourly WHERE site_id = ?", b.id)).toBe(0);
    expect(count(store, "SELECT count(*) AS n FROM analytics_events WHERE site_id = ?", a.id)).toBe(2);
    store.close();
  });
});

describe("daily breakdowns", () => {
  test("per site and day; names past the cap are summed under (other); a rollback leaves no trace", () => {
    const store = freshStore();
    const site = createSite(store, "blog");
    const w = new EventWriter(store, 3);
    const now = Date.now();
    w.write(["/a", "/b", "/a", "/c", "/d", "/e"].map((path) => hit(site.id, now, { path })));
    w.write([hit(site.id, now, { path: "/f" }), hit(site.id, now, { path: "/b" }), hit(site.id, now - DAY_MS, { path: "/z" })]);
    const rows = store.read.query("SELECT day, name, views FROM analytics_daily_top WHERE kind = 'path' ORDER BY day, name").all();
    const today = Math.floor(now / DAY_MS);
    expect(rows).toEqual([
      { day: today - 1, name: "/z", views: 1 },
      { day: today, name: "(other)", views: 3 },
      { day: today, name: "/a", views: 2 },
      { day: today, name: "/b", views: 2 },
      { day: today, name: "/c", views: 1 },
    ]);
    // A batch whose transaction fails adds nothing, and the next one counts from the stored state.
    const before = store.read.query("SELECT * FROM analytics_daily_top ORDER BY 1, 2, 3, 4").all();
    store.write.run("CREATE TRIGGER fail_events BEFORE INSERT ON analytics_events BEGIN SELECT RAISE(ABORT, 'disk full'); END");
    expect(() => w.write([hit(site.id, now, { path: "/a" })])).toThrow(/disk full/);
    store.write.run("DROP TRIGGER fail_events");
    expect(store.read.query("SELECT * FROM analytics_daily_top ORDER BY 1, 2, 3, 4").all()).toEqual(before);
    w.write([hit(site.id, now, { path: "/a" })]);
    expect(store.read.query("SELECT views FROM analytics_daily_top WHERE kind = 'path' AND name = '/a' AND day = ?").get(today)).toEqual({ views: 3 });
    store.close();
  });
});

describe("recorder buffer", () => {
  /** Hits that cannot share a row: each has its own path. */
  const distinct = (i: number) => hit(1, i, { path: `/p${i}` });

  test("bounded: under overload it drops and counts, never grows; flush writes everything else", async () => {
    const written: Hit[] = [];
    const r = new Recorder((b) => void written.push(...b), { capacity: 100, batchSize: 30, intervalMs: 60_000 });
    for (let i = 0; i < 250; i++) r.record(distinct(i));
    expect(r.rows).toBe(100);
    expect(r.buffered).toBe(100);
    expect(r.dropped).toBe(150);
    // A hit that folds into a row already held is kept even when memory is full.
    r.record(distinct(7));
    expect(r.dropped).toBe(150);
    expect(r.buffered).toBe(101);
    await r.flush();
    expect(written.map((h) => h.ts)).toEqual([...Array(100).keys()]);
    expect(written[7]!.hits).toBe(2);
    expect(r.buffered).toBe(0);
    expect(r.written).toBe(101);
  });

  test("bounded in bytes too: long URLs and User-Agents cannot take more memory than allowed", async () => {
    const written: Hit[] = [];
    const r = new Recorder((b) => void written.push(...b), { capacity: 1000, maxBytes: 50_000, batchSize: 1000, intervalMs: 60_000 });
    const long = "x".repeat(500);
    for (let i = 0; i < 100; i++) r.record(hit(1, i, { path: `/${long}${i}`, ua: long }));
    // Each row holds ~1 KB of strings (twice: the row and its key): about 20 fit.
    expect(r.bytes).toBeLessThanOrEqual(50_000);
    expect(r.rows).toBeGreaterThan(10);
    expect(r.rows).toBeLessThan(30);
    expect(r.dropped).toBe(100 - r.rows);
    const held = r.rows;
    await r.flush();
    expect(r.bytes).toBe(0);
    expect(written.length).toBe(held);
  });

  test("identical hits of one interval fold into one row with their count and summed bytes; a new hour starts new rows", async () => {
    const written: Hit[] = [];
    const r = new Recorder((b) => void written.push(...b), { capacity: 100, batchSize: 100, intervalMs: 60_000 });
    const hour = 10 * HOUR_MS;
    for (let i = 0; i < 5; i++) r.record(hit(1, hour - 500 + i, { bytes: 10 }));
    r.record(hit(1, hour - 400, { ip: "203.0.113.2", bytes: 10 })); // another client
    r.record(hit(1, hour - 300, { referrer: "https://r.example/", bytes: 10 })); // another referrer
    r.record(hit(1, hour - 200, { status: 304, bytes: 0 }));
    r.record(hit(1, hour + 1, { bytes: 10 })); // the next hour
    r.record(hit(1, hour + 2, { bytes: 10 }));
    expect(r.rows).toBe(5);
    expect(r.buffered).toBe(10);
    await r.flush();
    expect(written.map((h) => [h.ts - hour, h.hits, h.bytes])).toEqual([
      [-500, 5, 50],
      [-400, 1, 10],
      [-300, 1, 10],
      [-200, 1, 0],
      [1, 2, 20],
    ]);
    // The next interval starts new rows.
    r.record(hit(1, hour + 3));
    await r.flush();
    expect(written.length).toBe(6);
  });

  test("a full batch flushes soon without waiting for the interval", async () => {
    let batches = 0;
    const r = new Recorder(() => void batches++, { capacity: 1000, batchSize: 10, intervalMs: 60_000 });
    for (let i = 0; i < 10; i++) r.record(distinct(i));
    await Bun.sleep(5);
    expect(batches).toBe(1);
    expect(r.written).toBe(10);
  });

  test("a failed write keeps the batch for the next flush; close writes what is left and refuses more", async () => {
    let fail = true;
    const written: Hit[] = [];
    const r = new Recorder(
      (b) => {
        if (fail) throw new Error("disk full");
        written.push(...b);
      },
      { capacity: 100, batchSize: 10, intervalMs: 60_000 },
    );
    for (let i = 0; i < 25; i++) r.record(distinct(i));
    await r.flush();
    expect(r.buffered).toBe(25);
    r.record(distinct(25));
    await r.flush();
    expect(r.buffered).toBe(26);
    fail = false;
    r.close();
    expect(written.map((h) => h.ts)).toEqual([...Array(26).keys()]);
    expect(r.buffered).toBe(0);
    r.record(distinct(99));
    expect(r.dropped).toBe(1);
  });

  test("close during a flush paused between batches writes the rest once, in order", async () => {
    const written: number[] = [];
    const r = new Recorder((b) => void written.push(...b.map((h) => h.ts)), { capacity: 1000, batchSize: 10, intervalMs: 60_000 });
    for (let i = 0; i < 35; i++) r.record(distinct(i));
    const flushing = r.flush(); // writes the first batch, then yields
    r.record(distinct(35));
    r.close();
    await flushing;
    expect(written).toEqual([...Array(36).keys()]);
  });
});

describe("pruning", () => {
  test("raw events past the window go in small batches; rollups, recent events and today's salt stay", async () => {
    const store = freshStore();
    const site = createSite(store, "blog");
    const now = Date.now();
    const w = new EventWriter(store);
    const old = Array.from({ length: 250 }, (_, i) => hit(site.id, now - 40 * DAY_MS + i));
    w.write([...old, ...Array.from({ length: 20 }, (_, i) => hit(site.id, now - 2 * DAY_MS + i)), hit(site.id, now)]);
    const hourlyBefore = store.read.query("SELECT * FROM analytics_hourly ORDER BY hour").all();
    expect(await pruneEvents(store, 30, now, { batch: 100 })).toBe(250);
    expect(count(store, "SELECT count(*) AS n FROM analytics_events")).toBe(21);
    expect(store.read.query("SELECT * FROM analytics_hourly ORDER BY hour").all()).toEqual(hourlyBefore);
    expect(count(store, "SELECT count(*) AS n FROM analytics_salts WHERE day < ?", Math.floor(now / DAY_MS) - 1)).toBe(0);
    expect(count(store, "SELECT count(*) AS n FROM analytics_salts")).toBe(1);
    expect(count(store, "SELECT count(*) AS n FROM analytics_day_visitors")).toBe(1);
    expect(await pruneEvents(store, 1, now)).toBe(20); // a shorter window prunes more
    // Reports read rollups only: the pruned days still have totals and breakdowns.
    const old40 = Math.floor((now - 40 * DAY_MS) / DAY_MS);
    const report = siteReport(store.read, site, old40, old40 + 1, 10);
    expect(report.totals.views).toBe(250);
    expect(report.paths).toEqual([{ path: "/", views: 250 }]);
    expect(report.browsers).toEqual([{ name: "Chrome", views: 250 }]);
    store.close();
  });
});

describe("report API", () => {
  const store = freshStore();
  const app = new App(store, config());
  const api = createApi(app);
  const admin = createToken(store, {});
  const blog = createSite(store, "blog");
  const other = createSite(store, "other");
  const otherToken = createToken(store, { siteId: other.id });
  const blogToken = createToken(store, { siteId: blog.id });
  const d = (s: string) => parseDay(s)! * DAY_MS;
  const today = Math.floor(Date.now() / DAY_MS) * DAY_MS;
  new EventWriter(store).write([
    hit(blog.id, d("2026-01-01") + 5, { path: "/old" }),
    hit(blog.id, d("2026-01-02") + 5, { path: "/x", referrer: "https://a.example/" }),
    hit(blog.id, d("2026-01-02") + 6, { path: "/x", ua: UA.iphone, referrer: "https://b.example/" }),
    hit(blog.id, d("2026-01-03") + 5, { path: "/y", status: 404, bytes: 50 }),
    hit(blog.id, today + 5, { path: "/today" }),
    hit(other.id, d("2026-01-02") + 5),
  ]);
  const get = (path: string, token = admin) => api(new Request(`http://localhost${path}`, { headers: { authorization: `Bearer ${token}` } }));

  test("from/to are inclusive UTC days; totals, series and breakdowns cover exactly that range", async () => {
    const res = await get("/api/sites/blog/analytics?from=2026-01-02&to=2026-01-03");
    expect(res.status).toBe(200);
    const r = (await res.json()) as AnalyticsReport;
    expect(r.totals).toEqual({ views: 3, visitors: 3, bytes: 250, bots: 0, requests: 3 });
    expect(r.series.map((s) => [s.date, s.views])).toEqual([["2026-01-02", 2], ["2026-01-03", 1]]);
    expect(r.paths).toEqual([{ path: "/x", views: 2 }, { path: "/y", views: 1 }]);
    expect(r.referrers).toEqual([{ referrer: "a.example", views: 1 }, { referrer: "b.example", views: 1 }]);
    expect(r.devices).toEqual([{ name: "desktop", views: 2 }, { name: "mobile", views: 1 }]);
    expect(r.status).toEqual({ "2xx": 2, "3xx": 0, "4xx": 1, "5xx": 0 });
    expect(r.status_codes).toEqual([{ code: 200, count: 2 }, { code: 404, count: 1 }]);
  });

  test("default range is the last 7 days including today", async () => {
    const r = (await (await get("/api/sites/blog/analytics")).json()) as AnalyticsReport;
    expect(r.series).toHaveLength(7);
    expect(r.totals.views).toBe(1);
    expect(r.paths).toEqual([{ path: "/today", views: 1 }]);
  });

  test("a site token reads its own site only; bad dates and ranges are 400s", async () => {
    expect((await get("/api/sites/blog/analytics", blogToken)).status).toBe(200);
    expect((await get("/api/sites/blog/analytics", otherToken)).status).toBe(403);
    expect((await get("/api/sites/blog/analytics", "fzt_nope")).status).toBe(401);
    expect((await get("/api/sites/nope/analytics")).status).toBe(404);
    for (const q of ["from=2026-02-30", "to=yesterday", "from=2026-01-05&to=2026-01-01", "from=2000-01-01&to=2026-01-01", "limit=0"]) {
      const res = await get(`/api/sites/blog/analytics?${q}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("bad_request");
    }
  });

  test("Analytics.record takes path without query, the body bytes given, nothing for HEAD", () => {
    const a = new Analytics(app);
    a.record(new Request("http://blog.localhost/p?q=1", { headers: { referer: "https://r.example/" } }), 200, 3, "1.2.3.4", "blog.localhost", blog.id);
    a.record(new Request("http://blog.localhost/h", { method: "HEAD" }), 200, 99, "1.2.3.4", "blog.localhost", blog.id);
    a.recorder.close();
    const rows = store.read.query("SELECT path, bytes, referrer FROM analytics_events WHERE path IN ('/p', '/h') ORDER BY id").all();
    expect(rows).toEqual([{ path: "/p", bytes: 3, referrer: "r.example" }, { path: "/h", bytes: 0, referrer: null }]);
  });
});
