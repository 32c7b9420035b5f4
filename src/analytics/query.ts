// The analytics report for a site and a range of UTC days, read from rollups
// only (kept for good, so any range works after raw events are pruned):
// totals, status classes and the daily series from analytics_hourly; paths,
// referrers, browsers, OS, devices and status codes from analytics_daily_top;
// requests and bytes per path class from analytics_hourly_classes (kept as long
// as raw events). Views and visitors are people's documents (HTML 200/304);
// bytes and requests count everything, bots apart as well.
import type { Database } from "bun:sqlite";
import { DAY_MS, formatDay } from "./days.ts";
import type { Kind } from "./breakdowns.ts";

export interface Ranked {
  name: string;
  views: number;
}

export interface AnalyticsReport {
  site: string;
  from: string;
  to: string;
  totals: { views: number; visitors: number; bytes: number; human_bytes: number; bot_bytes: number; bots: number; requests: number };
  status: { "2xx": number; "3xx": number; "4xx": number; "5xx": number };
  series: { date: string; views: number; visitors: number; bytes: number; human_bytes: number; bot_bytes: number; bots: number }[];
  paths: { path: string; views: number }[];
  referrers: { referrer: string; views: number }[];
  browsers: Ranked[];
  os: Ranked[];
  devices: Ranked[];
  status_codes: { code: number; count: number }[];
  classes: { class: string; requests: number; bytes: number }[];
}

interface DayRow {
  day: number;
  views: number;
  visitors: number;
  bytes: number;
  bot_bytes: number;
  bots: number;
  s2: number;
  s3: number;
  s4: number;
  s5: number;
}

/** Report on days fromDay..toDay (inclusive, UTC day numbers). Visitors: distinct per day, summed over days. */
export function siteReport(
  db: Database,
  site: { id: number; name: string },
  fromDay: number,
  toDay: number,
  limit: number,
): AnalyticsReport {
  const h0 = (fromDay * DAY_MS) / 1000;
  const h1 = ((toDay + 1) * DAY_MS) / 1000;
  const days = db
    .query(
      `SELECT hour / 86400 AS day, sum(views) AS views, sum(visitors) AS visitors, sum(bytes) AS bytes,
              sum(bot_bytes) AS bot_bytes, sum(bots) AS bots,
              sum(s2xx) AS s2, sum(s3xx) AS s3, sum(s4xx) AS s4, sum(s5xx) AS s5
       FROM analytics_hourly WHERE site_id = ? AND hour >= ? AND hour < ? GROUP BY day ORDER BY day`,
    )
    .all(site.id, h0, h1) as DayRow[];
  const byDay = new Map(days.map((d) => [d.day, d]));
  const series = [];
  for (let d = fromDay; d <= toDay; d++) {
    const r = byDay.get(d);
    const bytes = r?.bytes ?? 0;
    const botBytes = r?.bot_bytes ?? 0;
    series.push({
      date: formatDay(d),
      views: r?.views ?? 0,
      visitors: r?.visitors ?? 0,
      bytes,
      human_bytes: bytes - botBytes,
      bot_bytes: botBytes,
      bots: r?.bots ?? 0,
    });
  }
  const sum = (k: keyof DayRow) => days.reduce((n, d) => n + d[k], 0);
  const bytes = sum("bytes");
  const botBytes = sum("bot_bytes");

  const top = (kind: Kind) =>
    db
      .query(
        `SELECT name, sum(views) AS views FROM analytics_daily_top
         WHERE site_id = ? AND day >= ? AND day <= ? AND kind = ?
         GROUP BY name ORDER BY views DESC, name LIMIT ?`,
      )
      .all(site.id, fromDay, toDay, kind, limit) as Ranked[];

  return {
    site: site.name,
    from: formatDay(fromDay),
    to: formatDay(toDay),
    totals: {
      views: sum("views"),
      visitors: sum("visitors"),
      bytes,
      human_bytes: bytes - botBytes,
      bot_bytes: botBytes,
      bots: sum("bots"),
      requests: sum("s2") + sum("s3") + sum("s4") + sum("s5"),
    },
    status: { "2xx": sum("s2"), "3xx": sum("s3"), "4xx": sum("s4"), "5xx": sum("s5") },
    series,
    paths: top("path").map((r) => ({ path: r.name, views: r.views })),
    referrers: top("referrer").map((r) => ({ referrer: r.name, views: r.views })),
    browsers: top("browser"),
    os: top("os"),
    devices: top("device"),
    status_codes: top("status").map((r) => ({ code: Number(r.name), count: r.views })), // < 500 codes exist: never "(other)"
    classes: db
      .query(
        `SELECT class, sum(requests) AS requests, sum(bytes) AS bytes FROM analytics_hourly_classes
         WHERE hour >= ? AND hour < ? AND site_id = ? GROUP BY class ORDER BY requests DESC, class`,
      )
      .all(h0, h1, site.id) as { class: string; requests: number; bytes: number }[],
  };
}

/** Views (people, not bots) per site id since the start of the current UTC day. */
export function viewsToday(db: Database, now = Date.now()): Map<number, number> {
  const since = (Math.floor(now / DAY_MS) * DAY_MS) / 1000;
  const rows = db.query("SELECT site_id, sum(views) AS views FROM analytics_hourly WHERE hour >= ? GROUP BY site_id").all(since) as {
    site_id: number;
    views: number;
  }[];
  return new Map(rows.map((r) => [r.site_id, r.views]));
}
