// Writing a batch of rows in one write transaction: raw events of documents,
// hourly rollups, per-class hourly counts and daily breakdowns.
// - A Hit is a document request (HTML 200/304) as the hot path recorded it; it
//   may stand for several alike requests (`hits`). People's documents become
//   raw event rows (at most maxEventRows per site and hour; the rest are summed
//   into one "(other)" row of that hour); bots' are only counted.
// - A Tally is every other request (assets, revalidations of assets, misses,
//   redirects) of one site, path class, status, bot flag and hour, counted
//   without the client address: it only adds to the counts.
// Visitor counting: a visitor's first document of a UTC day (per site) adds 1
// to its hour's `visitors`, so a day's hours sum to its distinct visitors and
// stay right after raw events are pruned.
import type { Statement } from "bun:sqlite";
import type { Store } from "../db/index.ts";
import { PATH_CLASSES, CLASS_PAGE } from "../serve/http.ts";
import { classifyUserAgent, referrerOrigin, visitorHash } from "./classify.ts";
import { dayOf, hourOf, HOUR_MS } from "./days.ts";
import { DailyBreakdowns, OTHER } from "./breakdowns.ts";

/** Document requests alike in all but time, as the hot path records them (raw, unprocessed). */
export interface Hit {
  kind: "hit";
  /** Time of the first of them (ms). */
  ts: number;
  siteId: number;
  host: string;
  path: string;
  status: number;
  /** Body bytes sent, summed over them. */
  bytes: number;
  referrer: string | null;
  ua: string;
  ip: string;
  /** How many requests. */
  hits: number;
}

/** Requests other than documents, of one site, path class, status, bot flag and hour. */
export interface Tally {
  kind: "tally";
  /** Start of the hour (ms). */
  ts: number;
  siteId: number;
  /** PATH_CLASSES index. */
  pathClass: number;
  status: number;
  bot: boolean;
  hits: number;
  bytes: number;
}

export type Row = Hit | Tally;

/** Most raw event rows per site and UTC hour; the rest of the hour's documents are summed into one "(other)" row. */
export const MAX_EVENT_ROWS_PER_HOUR = 2000;

/** A client on a day: its hash and the sites it is known to be marked on in analytics_day_visitors. */
interface Visitor {
  hash: string;
  day: number;
  marked: number[];
}

interface Rollup {
  siteId: number;
  hour: number;
  views: number;
  visitors: number;
  bots: number;
  bytes: number;
  botBytes: number;
  s: [number, number, number, number]; // 2xx, 3xx, 4xx, 5xx
}

/** Requests and bytes of one site, hour, path class, status and bot flag in the batch. */
interface ClassCount {
  siteId: number;
  hour: number;
  pathClass: number;
  status: number;
  bot: number;
  hits: number;
  bytes: number;
}

const EVENT_COLUMNS = "(ts, site_id, path, status, bytes, referrer, browser, os, device, bot, visitor, hits)";
const EVENT_VALUES = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
const EVENT_ARITY = 12;
/** Rows per multi-row INSERT: binding one statement per row costs more than the row itself. */
const ROWS_PER_INSERT = 50;
/** Bound on each per-process cache below (cleared when full). */
const CACHE_MAX = 20_000;

export class EventWriter {
  private readonly salts = new Map<number, Uint8Array>();
  /**
   * IP -> User-Agent -> visitor on day visitorsDay: SHA-256 once per client and day.
   * Nested maps because building a joined key costs more than two lookups.
   */
  private readonly visitors = new Map<string, Map<string, Visitor>>();
  private visitorsDay = -1;
  private visitorCount = 0;
  /** Host and Referer -> referring origin. */
  private readonly referrers = new Map<string, string | null>();
  /** "site hour" -> raw event rows stored for it (read from the table on first use). */
  private readonly eventRows = new Map<string, number>();
  private liveKey = "";
  /** Estimated bytes of all raw events after the last write (analytics_event_bytes). */
  eventBytes = 0;
  private readonly breakdowns: DailyBreakdowns;
  private readonly insertEvent: Statement;
  private readonly insertEvents: Statement;
  private readonly addToOther: Statement;
  private readonly countEvents: Statement;
  private readonly readEventBytes: Statement;
  private readonly markVisitor: Statement;
  private readonly upsertHour: Statement;
  private readonly upsertClass: Statement;
  private readonly liveSites: Statement;
  private readonly getSalt: Statement;
  private readonly putSalt: Statement;

  private readonly maxEventRows: number;

  constructor(
    private readonly store: Store,
    opts: { maxNamesPerDay?: number; maxEventRowsPerHour?: number } = {},
  ) {
    this.maxEventRows = opts.maxEventRowsPerHour ?? MAX_EVENT_ROWS_PER_HOUR;
    this.breakdowns = new DailyBreakdowns(store, opts.maxNamesPerDay);
    const db = store.write;
    this.insertEvent = db.prepare(`INSERT INTO analytics_events ${EVENT_COLUMNS} VALUES ${EVENT_VALUES}`);
    this.insertEvents = db.prepare(
      `INSERT INTO analytics_events ${EVENT_COLUMNS} VALUES ${Array(ROWS_PER_INSERT).fill(EVENT_VALUES).join(", ")}`,
    );
    this.addToOther = db.prepare(
      "UPDATE analytics_events SET hits = hits + ?, bytes = bytes + ? WHERE site_id = ? AND ts = ? AND path = ?",
    );
    this.countEvents = db.prepare("SELECT count(*) AS n FROM analytics_events WHERE site_id = ? AND ts >= ? AND ts < ?");
    this.readEventBytes = db.prepare("SELECT bytes FROM analytics_event_bytes WHERE id = 1");
    this.markVisitor = db.prepare("INSERT OR IGNORE INTO analytics_day_visitors (site_id, day, visitor) VALUES (?, ?, ?)");
    this.upsertHour = db.prepare(
      `INSERT INTO analytics_hourly (site_id, hour, views, visitors, bots, bytes, bot_bytes, s2xx, s3xx, s4xx, s5xx)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (site_id, hour) DO UPDATE SET
         views = views + excluded.views, visitors = visitors + excluded.visitors, bots = bots + excluded.bots,
         bytes = bytes + excluded.bytes, bot_bytes = bot_bytes + excluded.bot_bytes, s2xx = s2xx + excluded.s2xx,
         s3xx = s3xx + excluded.s3xx, s4xx = s4xx + excluded.s4xx, s5xx = s5xx + excluded.s5xx`,
    );
    this.upsertClass = db.prepare(
      `INSERT INTO analytics_hourly_classes (site_id, hour, class, status, bot, requests, bytes) VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (site_id, hour, class, status, bot) DO UPDATE SET
         requests = requests + excluded.requests, bytes = bytes + excluded.bytes`,
    );
    this.liveSites = db.prepare("SELECT id FROM sites");
    this.getSalt = db.prepare("SELECT salt FROM analytics_salts WHERE day = ?");
    this.putSalt = db.prepare("INSERT INTO analytics_salts (day, salt) VALUES (?, ?)");
  }

  /** Write rows in one transaction. Rows of sites deleted meanwhile are skipped. Returns the requests written. */
  write(batch: readonly Row[]): number {
    try {
      return this.store.tx(() => this.writeRows(batch));
    } catch (err) {
      // Salts, visitor marks and event rows made in the failed transaction were rolled back too.
      this.salts.clear();
      this.forgetVisitors();
      this.breakdowns.reset();
      this.eventRows.clear();
      throw err;
    }
  }

  private writeRows(batch: readonly Row[]): number {
    const liveIds = (this.liveSites.all() as { id: number }[]).map((r) => r.id);
    const live = new Set(liveIds);
    const liveKey = liveIds.join();
    if (liveKey !== this.liveKey) {
      // A deleted site took its visitor marks, breakdowns and events with it.
      this.forgetVisitors();
      this.breakdowns.reset();
      this.eventRows.clear();
    }
    this.liveKey = liveKey;
    const rollups = new Map<number, Rollup[]>(); // by site: a batch spans an hour or two
    const classes = new Map<string, ClassCount>();
    const others: Others = new Map();
    const rows: (string | number | null)[] = [];
    let written = 0;
    for (const h of batch) {
      if (!live.has(h.siteId)) continue;
      written += h.hits;
      const hour = hourOf(h.ts);
      const day = dayOf(h.ts);
      const r = this.rollup(rollups, h.siteId, hour);
      r.bytes += h.bytes;
      const cls = ((h.status / 100) | 0) - 2;
      if (cls >= 0 && cls <= 3) r.s[cls]! += h.hits;
      const bot = h.kind === "tally" ? h.bot : classifyUserAgent(h.ua).bot;
      countClass(classes, h.siteId, hour, h.kind === "tally" ? h.pathClass : CLASS_PAGE, h.status, bot, h.hits, h.bytes);
      if (bot) {
        r.bots += h.hits;
        r.botBytes += h.bytes;
      }
      if (h.kind === "tally" || bot) {
        this.breakdowns.countStatus(h.siteId, day, h.status, h.hits);
        continue;
      }
      // A person's document: a page view with its visitor and details.
      const client = classifyUserAgent(h.ua);
      const visitor = this.visitor(day, h.ip, h.ua);
      const referrer = this.referrer(h.referrer, h.host);
      r.views += h.hits;
      if (this.firstSight(h.siteId, visitor)) r.visitors++;
      const alike = `${h.siteId}\n${day}\n${h.status}\n${h.path}\n${referrer ?? ""}\n${h.ua}`;
      this.breakdowns.countHit(alike, h.hits, h.siteId, day, h.status, h.path, referrer, client);
      if (!this.takeEventRow(h.siteId, hour)) {
        addToOther(others, h.siteId, hour * 1000, h.hits, h.bytes);
        continue;
      }
      rows.push(h.ts, h.siteId, h.path, h.status, h.bytes, referrer, client.browser, client.os, client.device, 0, visitor.hash, h.hits);
      if (rows.length === ROWS_PER_INSERT * EVENT_ARITY) this.insertEvents.run(...rows.splice(0));
    }
    for (let i = 0; i < rows.length; i += EVENT_ARITY) this.insertEvent.run(...rows.slice(i, i + EVENT_ARITY));
    for (const o of others.values()) {
      if (this.addToOther.run(o.hits, o.bytes, o.siteId, o.ts, OTHER).changes > 0) continue;
      this.insertEvent.run(o.ts, o.siteId, OTHER, 0, o.bytes, null, null, null, null, 0, "", o.hits);
    }
    for (const hours of rollups.values()) {
      for (const r of hours) this.upsertHour.run(r.siteId, r.hour, r.views, r.visitors, r.bots, r.bytes, r.botBytes, ...r.s);
    }
    for (const c of classes.values()) this.upsertClass.run(c.siteId, c.hour, PATH_CLASSES[c.pathClass]!, c.status, c.bot, c.hits, c.bytes);
    this.breakdowns.write();
    this.eventBytes = (this.readEventBytes.get() as { bytes: number } | null)?.bytes ?? 0;
    return written;
  }

  private rollup(rollups: Map<number, Rollup[]>, siteId: number, hour: number): Rollup {
    let hours = rollups.get(siteId);
    if (!hours) rollups.set(siteId, (hours = []));
    let r = hours.find((x) => x.hour === hour);
    if (!r) hours.push((r = { siteId, hour, views: 0, visitors: 0, bots: 0, bytes: 0, botBytes: 0, s: [0, 0, 0, 0] }));
    return r;
  }

  /** True while the site's hour has room for another raw event row (and takes it). */
  private takeEventRow(siteId: number, hour: number): boolean {
    const key = `${siteId} ${hour}`;
    let n = this.eventRows.get(key);
    if (n === undefined) {
      if (this.eventRows.size >= CACHE_MAX) this.eventRows.clear();
      n = (this.countEvents.get(siteId, hour * 1000, hour * 1000 + HOUR_MS) as { n: number }).n;
    }
    if (n >= this.maxEventRows) {
      this.eventRows.set(key, n);
      return false;
    }
    this.eventRows.set(key, n + 1);
    return true;
  }

  /** True the first time this visitor is seen on this site this day (recorded in the same transaction). */
  private firstSight(siteId: number, visitor: Visitor): boolean {
    if (visitor.marked.includes(siteId)) return false;
    visitor.marked.push(siteId);
    return this.markVisitor.run(siteId, visitor.day, visitor.hash).changes === 1;
  }

  private forgetVisitors(): void {
    this.visitors.clear();
    this.visitorCount = 0;
  }

  private visitor(day: number, ip: string, ua: string): Visitor {
    if (day !== this.visitorsDay || this.visitorCount >= CACHE_MAX) {
      this.forgetVisitors();
      this.visitorsDay = day;
    }
    let byUa = this.visitors.get(ip);
    if (byUa === undefined) this.visitors.set(ip, (byUa = new Map()));
    let v = byUa.get(ua);
    if (v === undefined) {
      byUa.set(ua, (v = { hash: visitorHash(this.salt(day), ip, ua), day, marked: [] }));
      this.visitorCount++;
    }
    return v;
  }

  private referrer(referrer: string | null, host: string): string | null {
    if (referrer === null) return null;
    const key = `${host}\n${referrer}`;
    let r = this.referrers.get(key);
    if (r === undefined) {
      if (this.referrers.size >= CACHE_MAX) this.referrers.clear();
      this.referrers.set(key, (r = referrerOrigin(referrer, host)));
    }
    return r;
  }

  /** The day's salt: made once per UTC day, stored so a restart keeps counting the same visitors. */
  private salt(day: number): Uint8Array {
    let salt = this.salts.get(day);
    if (salt) return salt;
    const row = this.getSalt.get(day) as { salt: Uint8Array } | null;
    if (row) salt = row.salt;
    else this.putSalt.run(day, (salt = crypto.getRandomValues(new Uint8Array(32))));
    for (const d of this.salts.keys()) if (d < day - 1) this.salts.delete(d);
    this.salts.set(day, salt);
    return salt;
  }
}

function countClass(
  classes: Map<string, ClassCount>,
  siteId: number,
  hour: number,
  pathClass: number,
  status: number,
  bot: boolean,
  hits: number,
  bytes: number,
): void {
  const key = `${siteId} ${hour} ${pathClass} ${status} ${bot ? 1 : 0}`;
  const c = classes.get(key);
  if (c) {
    c.hits += hits;
    c.bytes += bytes;
  } else classes.set(key, { siteId, hour, pathClass, status, bot: bot ? 1 : 0, hits, bytes });
}

/** The hour's documents past the cap: hits and bytes, by site and hour start. */
type Others = Map<string, { siteId: number; ts: number; hits: number; bytes: number }>;

function addToOther(others: Others, siteId: number, ts: number, hits: number, bytes: number): void {
  const key = `${siteId} ${ts}`;
  const o = others.get(key);
  if (o) {
    o.hits += hits;
    o.bytes += bytes;
  } else others.set(key, { siteId, ts, hits, bytes });
}
