// Analytics parts in process: the bounded buffer, the batch writer and its
// rollups, bot and client detection, pruning, and the report API's ranges.
import { describe, expect, test, afterAll } from "bun:test";
import { join } from "node:path";
import { Store } from "../src/db/index.ts";
import { App } from "../src/server/app.ts";
import { defaultConfig, type ServerConfig } from "../src/core/config.ts";
import { createSite, deleteSite } from "../src/sites/index.ts";
import { createToken } from "../src/auth/tokens.ts";
import { createApi } from "../src/api/index.ts";
import { Recorder } from "../src/analytics/recorder.ts";
import { EventWriter, type Hit, type Row, type Tally } from "../src/analytics/writer.ts";
import { classifyUserAgent, isBotAgent, referrerOrigin } from "../src/analytics/classify.ts";
import { pruneEvents } from "../src/analytics/prune.ts";
import { Analytics, siteReport, type AnalyticsReport } from "../src/analytics/index.ts";
import { clientAddress, forwardedClient } from "../src/http/client.ts";
import { CLASS_NONE, CLASS_PAGE, PATH_CLASSES } from "../src/serve/http.ts";
import { DAY_MS, HOUR_MS, parseDay } from "../src/analytics/days.ts";
import { tempDir, cleanup } from "./helpers/fazt.ts";
import { UA } from "./helpers/agents.ts";
import { waitFor } from "./helpers/wait.ts";

const dir = tempDir();
afterAll(() => cleanup(dir));
let dbN = 0;

function config(): ServerConfig {
  return defaultConfig();
}

function freshStore(): Store {
  return Store.open(join(dir, `a${++dbN}.db`));
}

function hit(siteId: number, ts: number, over: Partial<Hit> = {}): Hit {
  const ip = "203.0.113.1";
  const host = "blog.localhost";
  return { kind: "hit", ts, siteId, host, path: "/", status: 200, bytes: 100, referrer: null, ua: UA.chrome, ip, hits: 1, ...over };
}

/** Requests other than documents, as the recorder tallies them. */
function tally(siteId: number, ts: number, over: Partial<Tally> = {}): Tally {
  const hourStart = Math.floor(ts / HOUR_MS) * HOUR_MS;
  return { kind: "tally", ts: hourStart, siteId, pathClass: 2, status: 200, bot: false, hits: 1, bytes: 100, ...over };
}

const INF = Number.MAX_SAFE_INTEGER;

const count = (store: Store, sql: string, ...args: (string | number)[]) => (store.read.query(sql).get(...args) as { n: number }).n;

describe("client classification", () => {
  test("browser, OS and device families from the User-Agent; bots flagged", () => {
    expect(classifyUserAgent(UA.chrome)).toEqual({ browser: "Chrome", os: "Windows", device: "desktop", bot: false });
    expect(classifyUserAgent(UA.iphone)).toMatchObject({ browser: "Mobile Safari", os: "iOS", device: "mobile", bot: false });
    expect(classifyUserAgent(UA.firefox)).toMatchObject({ browser: "Firefox", os: "Linux", bot: false });
    expect(classifyUserAgent(UA.googlebot).bot).toBe(true);
    expect(classifyUserAgent("curl/8.11.0").bot).toBe(true);
    expect(classifyUserAgent("").bot).toBe(true); // no User-Agent at all: not a person's browser
  });

  test("referrer origin: external http(s) origins only, no path or query", () => {
    expect(referrerOrigin("https://News.Example.com/item?id=1", "blog.localhost")).toBe("https://news.example.com");
    expect(referrerOrigin(`http://r.example:8080/${"x".repeat(2000)}`, "blog.localhost")).toBe("http://r.example:8080");
    expect(referrerOrigin("http://blog.localhost/other", "blog.localhost")).toBeNull();
    expect(referrerOrigin("android-app://com.example/", "blog.localhost")).toBeNull();
    expect(referrerOrigin("not a url", "blog.localhost")).toBeNull();
    expect(referrerOrigin(null, "blog.localhost")).toBeNull();
  });

  test("the request path's bot flag agrees with the flusher's classification", () => {
    for (const ua of Object.values(UA)) expect(isBotAgent(ua)).toBe(classifyUserAgent(ua).bot);
    expect(isBotAgent("")).toBe(true);
    expect(isBotAgent("curl/8.11.0")).toBe(true);
  });

  test("forwarded client (used with --trust-proxy): the last X-Forwarded-For hop, else none", () => {
    const req = new Request("http://x/", { headers: { "x-forwarded-for": "6.6.6.6, 198.51.100.7" } });
    expect(forwardedClient(req)).toBe("198.51.100.7");
    expect(forwardedClient(new Request("http://x/", { headers: { "x-forwarded-for": "198.51.100.9" } }))).toBe("198.51.100.9");
    expect(forwardedClient(new Request("http://x/", { headers: { "x-forwarded-for": " , " } }))).toBeNull();
    expect(forwardedClient(new Request("http://x/"))).toBeNull();
    // clientAddress: the forwarded hop only with trustProxy, else (or without one) the peer.
    const peer = { requestIP: () => ({ address: "192.0.2.1", family: "IPv4" as const, port: 1 }) };
    expect(clientAddress(req, peer, true)).toBe("198.51.100.7");
    expect(clientAddress(req, peer, false)).toBe("192.0.2.1");
    expect(clientAddress(new Request("http://x/"), peer, true)).toBe("192.0.2.1");
    expect(clientAddress(new Request("http://x/"), { requestIP: () => null }, false)).toBe("unknown");
  });
});

describe("batch writer", () => {
  test("documents are events; other requests and bots only counted; bots and their bytes apart; visitors once per day", () => {
    const store = freshStore();
    const site = createSite(store, "blog");
    const w = new EventWriter(store);
    const day = Math.floor(Date.now() / DAY_MS) * DAY_MS;
    const h10 = day + 10 * HOUR_MS;
    w.write([
      hit(site.id, h10, { path: "/a", status: 200, bytes: 10 }),
      hit(site.id, h10 + 1, { path: "/a", status: 304, bytes: 0 }),
      tally(site.id, h10 + 2, { pathClass: CLASS_NONE, status: 404, bytes: 5 }),
      hit(site.id, h10 + 3, { status: 200, bytes: 1, ua: UA.googlebot }),
      tally(site.id, h10 + 4, { status: 500, bytes: 2, bot: true }),
    ]);
    // Same visitors an hour later: views grow, visitors do not (first sight counts).
    w.write([hit(site.id, h10 + HOUR_MS, { bytes: 7 }), hit(site.id, h10 + HOUR_MS + 1, { ip: "203.0.113.2", bytes: 3 })]);
    const rows = store.read.query("SELECT * FROM analytics_hourly ORDER BY hour").all() as Record<string, number>[];
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ views: 2, visitors: 1, bots: 2, bytes: 18, bot_bytes: 3, s2xx: 2, s3xx: 1, s4xx: 1, s5xx: 1 });
    expect(rows[1]).toMatchObject({ views: 2, visitors: 1, bots: 0, bytes: 10, bot_bytes: 0, s2xx: 2 });
    // Only people's documents are raw rows: the miss, the bot's page and the bot's error are counts.
    expect(store.read.query("SELECT path, status FROM analytics_events ORDER BY id").all()).toEqual([
      { path: "/a", status: 200 },
      { path: "/a", status: 304 },
      { path: "/", status: 200 },
      { path: "/", status: 200 },
    ]);
    // Every request is in the per-class counts (the bot's page too).
    const classes = "SELECT class, status, bot, requests, bytes FROM analytics_hourly_classes WHERE hour = ? ORDER BY 1, 2, 3";
    expect(store.read.query(classes).all(h10 / 1000)).toEqual([
      { class: "none", status: 404, bot: 0, requests: 1, bytes: 5 },
      { class: "page", status: 200, bot: 0, requests: 1, bytes: 10 },
      { class: "page", status: 200, bot: 1, requests: 1, bytes: 1 },
      { class: "page", status: 304, bot: 0, requests: 1, bytes: 0 },
      { class: "style", status: 500, bot: 1, requests: 1, bytes: 2 },
    ]);
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
    expect(store.read.query("SELECT views, visitors, bots, bytes, bot_bytes, s2xx, s3xx FROM analytics_hourly").get()).toEqual({
      views: 8,
      visitors: 1,
      bots: 4,
      bytes: 600,
      bot_bytes: 100,
      s2xx: 9,
      s3xx: 3,
    });
    expect(count(store, "SELECT sum(hits) AS n FROM analytics_events")).toBe(8);
    const top = (kind: string) => store.read.query("SELECT name, views FROM analytics_daily_top WHERE kind = ? ORDER BY name").all(kind);
    expect(top("path")).toEqual([{ name: "/a", views: 8 }]);
    expect(top("referrer")).toEqual([{ name: "https://r.example", views: 5 }]);
    expect(top("status")).toEqual([
      { name: "200", views: 9 },
      { name: "304", views: 3 },
    ]);
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

describe("byte budget", () => {
  test("raw event rows per site and hour are capped; the rest of the hour is summed into one (other) row; counts stay exact", () => {
    const store = freshStore();
    const a = createSite(store, "a");
    const b = createSite(store, "b");
    const w = new EventWriter(store, { maxEventRowsPerHour: 5 });
    const h10 = Math.floor(Date.now() / DAY_MS) * DAY_MS + 10 * HOUR_MS;
    w.write(Array.from({ length: 8 }, (_, i) => hit(a.id, h10 + i, { path: `/p${i}`, bytes: 10 })));
    const later = Array.from({ length: 4 }, (_, i) => hit(a.id, h10 + 100 + i, { path: `/q${i}`, bytes: 1 }));
    w.write([...later, hit(b.id, h10, { path: "/b" })]);
    w.write([hit(a.id, h10 + HOUR_MS, { path: "/next-hour" })]);
    const events = "SELECT ts, path, hits, bytes FROM analytics_events WHERE site_id = ? ORDER BY id";
    const rows = store.read.query(events).all(a.id) as Record<string, unknown>[];
    expect(rows.map((r) => r.path)).toEqual(["/p0", "/p1", "/p2", "/p3", "/p4", "(other)", "/next-hour"]);
    expect(rows[5]).toEqual({ ts: h10, path: "(other)", hits: 7, bytes: 34 });
    expect(count(store, "SELECT count(*) AS n FROM analytics_events WHERE site_id = ?", b.id)).toBe(1); // per site
    // A new writer (a restart) counts the stored rows and keeps to the cap.
    new EventWriter(store, { maxEventRowsPerHour: 5 }).write([hit(a.id, h10 + 200, { path: "/late" })]);
    expect(count(store, "SELECT count(*) AS n FROM analytics_events WHERE site_id = ? AND ts < ?", a.id, h10 + HOUR_MS)).toBe(6);
    expect(count(store, "SELECT views AS n FROM analytics_hourly WHERE site_id = ? AND hour = ?", a.id, h10 / 1000)).toBe(13);
    store.close();
  });

  test("the stored bytes estimate follows inserts, prunes and site deletion; pruning keeps raw events under the budget", async () => {
    const store = freshStore();
    const a = createSite(store, "a");
    const b = createSite(store, "b");
    const w = new EventWriter(store);
    const stored = () => count(store, "SELECT bytes AS n FROM analytics_event_bytes");
    const now = Date.now();
    const long = `/${"x".repeat(400)}`;
    w.write(Array.from({ length: 300 }, (_, i) => hit(a.id, now - 1000 + i, { path: `${long}${i}`, referrer: "https://r.example/" })));
    w.write([hit(b.id, now, { path: "/b" })]);
    const estimate = (sql: string) =>
      count(
        store,
        `SELECT coalesce(sum(64 + octet_length(path) + coalesce(octet_length(referrer), 0) + coalesce(octet_length(browser), 0)
        + coalesce(octet_length(os), 0) + coalesce(octet_length(device), 0) + octet_length(visitor)), 0) AS n
        FROM analytics_events ${sql}`,
      );
    expect(stored()).toBe(estimate(""));
    expect(w.eventBytes).toBe(stored());
    expect(stored()).toBeGreaterThan(300 * 400);
    deleteSite(store, "b");
    expect(stored()).toBe(estimate(""));
    const budget = 60_000;
    const pruned = await pruneEvents(store, { retentionDays: 30, maxBytes: budget }, now, { batch: 50 });
    expect(stored()).toBeLessThanOrEqual(budget);
    expect(stored()).toBe(estimate(""));
    // The oldest went first, in whole batches: what is left is the newest.
    const left = count(store, "SELECT count(*) AS n FROM analytics_events");
    expect(pruned + left).toBe(300);
    expect(count(store, "SELECT min(ts) AS n FROM analytics_events")).toBe(now - 1000 + pruned);
    store.close();
  });
});

describe("daily breakdowns", () => {
  test("per site and day; names past the cap are summed under (other); a rollback leaves no trace", () => {
    const store = freshStore();
    const site = createSite(store, "blog");
    const w = new EventWriter(store, { maxNamesPerDay: 3 });
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
    expect(store.read.query("SELECT views FROM analytics_daily_top WHERE kind = 'path' AND name = '/a' AND day = ?").get(today)).toEqual({
      views: 3,
    });
    store.close();
  });
});

describe("recorder buffer", () => {
  /** Hits that cannot share a row: each has its own path. */
  const distinct = (i: number) => hit(1, i, { path: `/p${i}` });

  test("bounded: under overload it drops and counts, never grows; flush writes everything else", async () => {
    const written: Row[] = [];
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
    const written: Row[] = [];
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
    const written: Row[] = [];
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

  test("requests other than documents are tallied per site, class, status and bot flag; a new hour starts new tallies", async () => {
    const written: Row[] = [];
    const r = new Recorder((b) => void written.push(...b), { capacity: 100, batchSize: 100, intervalMs: 60_000 });
    const hour = 10 * HOUR_MS;
    for (let i = 0; i < 5; i++) r.count(hour - 500 + i, 1, 2, 200, false, 10);
    r.count(hour - 400, 1, 2, 304, false, 0);
    r.count(hour - 300, 1, 2, 200, true, 7);
    r.count(hour - 200, 2, 2, 200, false, 1);
    r.count(hour + 1, 1, 2, 200, false, 10);
    expect(r.rows).toBe(5);
    expect(r.buffered).toBe(9);
    await r.flush();
    expect(written.map((t) => (t.kind === "tally" ? [t.ts, t.siteId, t.status, t.bot, t.hits, t.bytes] : null))).toEqual([
      [hour - HOUR_MS, 1, 200, false, 5, 50],
      [hour - HOUR_MS, 1, 304, false, 1, 0],
      [hour - HOUR_MS, 1, 200, true, 1, 7],
      [hour - HOUR_MS, 2, 200, false, 1, 1],
      [hour, 1, 200, false, 1, 10],
    ]);
  });

  test("a full batch flushes soon without waiting for the interval", async () => {
    let batches = 0;
    const r = new Recorder(() => void batches++, { capacity: 1000, batchSize: 10, intervalMs: 60_000 });
    for (let i = 0; i < 10; i++) r.record(distinct(i));
    // The interval is a minute: a write within a second can only be the full batch's own.
    await waitFor(() => batches > 0, { what: "the full batch written", timeoutMs: 1000 });
    expect(batches).toBe(1);
    expect(r.written).toBe(10);
  });

  test("a failed write keeps the batch for the next flush; close writes what is left and refuses more", async () => {
    let fail = true;
    const written: Row[] = [];
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
    expect(await pruneEvents(store, { retentionDays: 30, maxBytes: INF }, now, { batch: 100 })).toBe(250);
    expect(count(store, "SELECT count(*) AS n FROM analytics_events")).toBe(21);
    expect(store.read.query("SELECT * FROM analytics_hourly ORDER BY hour").all()).toEqual(hourlyBefore);
    expect(count(store, "SELECT count(*) AS n FROM analytics_salts WHERE day < ?", Math.floor(now / DAY_MS) - 1)).toBe(0);
    expect(count(store, "SELECT count(*) AS n FROM analytics_salts")).toBe(1);
    expect(count(store, "SELECT count(*) AS n FROM analytics_day_visitors")).toBe(1);
    expect(await pruneEvents(store, { retentionDays: 1, maxBytes: INF }, now)).toBe(20); // a shorter window prunes more
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
    tally(blog.id, d("2026-01-03") + 5, { pathClass: CLASS_PAGE, status: 404, bytes: 50 }),
    tally(blog.id, d("2026-01-03") + 6, { pathClass: 3, status: 200, bytes: 70, bot: true }),
    hit(blog.id, today + 5, { path: "/today" }),
    hit(other.id, d("2026-01-02") + 5),
  ]);
  const get = (path: string, token = admin) =>
    api(new Request(`http://localhost${path}`, { headers: { authorization: `Bearer ${token}` } }));

  test("from/to are inclusive UTC days; totals, series and breakdowns cover exactly that range", async () => {
    const res = await get("/api/sites/blog/analytics?from=2026-01-02&to=2026-01-03");
    expect(res.status).toBe(200);
    const r = (await res.json()) as AnalyticsReport;
    expect(r.totals).toEqual({ views: 2, visitors: 2, bytes: 320, human_bytes: 250, bot_bytes: 70, bots: 1, requests: 4 });
    expect(r.series.map((s) => [s.date, s.views, s.human_bytes, s.bot_bytes])).toEqual([
      ["2026-01-02", 2, 200, 0],
      ["2026-01-03", 0, 50, 70],
    ]);
    expect(r.paths).toEqual([{ path: "/x", views: 2 }]);
    expect(r.referrers).toEqual([
      { referrer: "https://a.example", views: 1 },
      { referrer: "https://b.example", views: 1 },
    ]);
    expect(r.devices).toEqual([
      { name: "desktop", views: 1 },
      { name: "mobile", views: 1 },
    ]);
    expect(r.status).toEqual({ "2xx": 3, "3xx": 0, "4xx": 1, "5xx": 0 });
    expect(r.status_codes).toEqual([
      { code: 200, count: 3 },
      { code: 404, count: 1 },
    ]);
    expect(r.classes).toEqual([
      { class: "page", requests: 3, bytes: 250 },
      { class: "image", requests: 1, bytes: 70 },
    ]);
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

  test("Analytics.record: documents with path (no query) and client; other requests counted without the address lookup", () => {
    const a = new Analytics(app);
    let lookups = 0;
    const server = { requestIP: () => (lookups++, { address: "1.2.3.4", family: "IPv4" as const, port: 1 }) };
    const at = (path: string, headers: Record<string, string> = {}) =>
      new Request(`http://blog.localhost${path}`, { headers: { "user-agent": UA.chrome, ...headers } });
    const rec = createSite(store, "rec"); // its own site: the hour's counts are this test's only
    const base = { server, siteId: rec.id, host: "blog.localhost" };
    a.record({ ...base, req: at("/p?q=1", { referer: "https://r.example/x" }), status: 200, bytes: 3, pathClass: CLASS_PAGE });
    a.record({ ...base, req: at("/p"), status: 304, bytes: 0, pathClass: CLASS_PAGE });
    expect(lookups).toBe(2);
    a.record({ ...base, req: at("/app.css"), status: 200, bytes: 40, pathClass: PATH_CLASSES.indexOf("style") });
    a.record({ ...base, req: at("/app.css"), status: 304, bytes: 0, pathClass: PATH_CLASSES.indexOf("style") });
    a.record({ ...base, req: at("/missing"), status: 404, bytes: 9, pathClass: CLASS_PAGE });
    a.record({ ...base, req: at("/img.png", { "user-agent": UA.googlebot }), status: 200, bytes: 5, pathClass: 3 });
    expect(lookups).toBe(2);
    a.recorder.close();
    const rows = store.read.query("SELECT path, status, bytes, referrer FROM analytics_events WHERE site_id = ? ORDER BY id").all(rec.id);
    expect(rows).toEqual([
      { path: "/p", status: 200, bytes: 3, referrer: "https://r.example" },
      { path: "/p", status: 304, bytes: 0, referrer: null },
    ]);
    const today = Math.floor(Date.now() / HOUR_MS) * 3600;
    const q = "SELECT class, status, bot, requests, bytes FROM analytics_hourly_classes WHERE hour = ? AND site_id = ? ORDER BY 1, 2";
    const classes = store.read.query(q).all(today, rec.id);
    expect(classes).toEqual([
      { class: "image", status: 200, bot: 1, requests: 1, bytes: 5 },
      { class: "page", status: 200, bot: 0, requests: 1, bytes: 3 },
      { class: "page", status: 304, bot: 0, requests: 1, bytes: 0 },
      { class: "page", status: 404, bot: 0, requests: 1, bytes: 9 },
      { class: "style", status: 200, bot: 0, requests: 1, bytes: 40 },
      { class: "style", status: 304, bot: 0, requests: 1, bytes: 0 },
    ]);
  });
});
