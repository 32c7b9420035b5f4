// Writing a batch of hits: raw events plus the hourly rollups and daily
// breakdowns, in one write transaction. A Hit may stand for several identical
// requests (the recorder folds them): its row carries the count in `hits`.
// Visitor counting: a visitor's first hit of a UTC day (per site) adds 1 to
// its hour's `visitors`, so a day's hours sum to its distinct visitors and
// stay right after raw events are pruned.
import type { Statement } from "bun:sqlite";
import type { Store } from "../db/index.ts";
import { classifyUserAgent, referrerHost, visitorHash } from "./classify.ts";
import { dayOf, hourOf } from "./days.ts";
import { DailyBreakdowns } from "./breakdowns.ts";

/** Served requests alike in all but time, as the hot path records them (raw, unprocessed). */
export interface Hit {
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
  s: [number, number, number, number]; // 2xx, 3xx, 4xx, 5xx
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
  /** Host and Referer -> referring host. */
  private readonly referrers = new Map<string, string | null>();
  private liveKey = "";
  private readonly breakdowns: DailyBreakdowns;
  private readonly insertEvent: Statement;
  private readonly insertEvents: Statement;
  private readonly markVisitor: Statement;
  private readonly upsertHour: Statement;
  private readonly liveSites: Statement;
  private readonly getSalt: Statement;
  private readonly putSalt: Statement;

  constructor(
    private readonly store: Store,
    maxNamesPerDay?: number,
  ) {
    this.breakdowns = new DailyBreakdowns(store, maxNamesPerDay);
    const db = store.write;
    this.insertEvent = db.prepare(`INSERT INTO analytics_events ${EVENT_COLUMNS} VALUES ${EVENT_VALUES}`);
    this.insertEvents = db.prepare(`INSERT INTO analytics_events ${EVENT_COLUMNS} VALUES ${Array(ROWS_PER_INSERT).fill(EVENT_VALUES).join(", ")}`);
    this.markVisitor = db.prepare("INSERT OR IGNORE INTO analytics_day_visitors (site_id, day, visitor) VALUES (?, ?, ?)");
    this.upsertHour = db.prepare(
      `INSERT INTO analytics_hourly (site_id, hour, views, visitors, bots, bytes, s2xx, s3xx, s4xx, s5xx)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (site_id, hour) DO UPDATE SET
         views = views + excluded.views, visitors = visitors + excluded.visitors, bots = bots + excluded.bots,
         bytes = bytes + excluded.bytes, s2xx = s2xx + excluded.s2xx, s3xx = s3xx + excluded.s3xx,
         s4xx = s4xx + excluded.s4xx, s5xx = s5xx + excluded.s5xx`,
    );
    this.liveSites = db.prepare("SELECT id FROM sites");
    this.getSalt = db.prepare("SELECT salt FROM analytics_salts WHERE day = ?");
    this.putSalt = db.prepare("INSERT INTO analytics_salts (day, salt) VALUES (?, ?)");
  }

  /** Write hits in one transaction. Hits of sites deleted meanwhile are skipped. Returns the requests written. */
  write(batch: readonly Hit[]): number {
    try {
      return this.store.tx(() => this.writeRows(batch));
    } catch (err) {
      // Salts and visitor marks made in the failed transaction were rolled back too.
      this.salts.clear();
      this.forgetVisitors();
      this.breakdowns.reset();
      throw err;
    }
  }

  private writeRows(batch: readonly Hit[]): number {
    const liveIds = (this.liveSites.all() as { id: number }[]).map((r) => r.id);
    const live = new Set(liveIds);
    const liveKey = liveIds.join();
    if (liveKey !== this.liveKey) {
      // A deleted site took its visitor marks and breakdowns with it.
      this.forgetVisitors();
      this.breakdowns.reset();
    }
    this.liveKey = liveKey;
    const rollups = new Map<number, Rollup[]>(); // by site: a batch spans an hour or two
    const rows: (string | number | null)[] = [];
    let written = 0;
    for (const h of batch) {
      if (!live.has(h.siteId)) continue;
      const client = classifyUserAgent(h.ua);
      const day = dayOf(h.ts);
      const visitor = this.visitor(day, h.ip, h.ua);
      const referrer = this.referrer(h.referrer, h.host);
      rows.push(h.ts, h.siteId, h.path, h.status, h.bytes, referrer, client.browser, client.os, client.device, client.bot ? 1 : 0, visitor.hash, h.hits);
      if (rows.length === ROWS_PER_INSERT * EVENT_ARITY) this.insertEvents.run(...rows.splice(0));
      written += h.hits;
      const hour = hourOf(h.ts);
      let hours = rollups.get(h.siteId);
      if (!hours) rollups.set(h.siteId, (hours = []));
      let r = hours.find((x) => x.hour === hour);
      if (!r) hours.push((r = { siteId: h.siteId, hour, views: 0, visitors: 0, bots: 0, bytes: 0, s: [0, 0, 0, 0] }));
      r.bytes += h.bytes;
      const cls = ((h.status / 100) | 0) - 2;
      if (cls >= 0 && cls <= 3) r.s[cls]! += h.hits;
      const alike = `${h.siteId}\n${day}\n${h.status}\n${h.path}\n${referrer ?? ""}\n${h.ua}`;
      this.breakdowns.countHit(alike, h.hits, h.siteId, day, h.status, h.path, referrer, client);
      if (client.bot) {
        r.bots += h.hits;
        continue;
      }
      r.views += h.hits;
      if (this.firstSight(h.siteId, visitor)) r.visitors++;
    }
    for (let i = 0; i < rows.length; i += EVENT_ARITY) this.insertEvent.run(...rows.slice(i, i + EVENT_ARITY));
    for (const hours of rollups.values()) {
      for (const r of hours) this.upsertHour.run(r.siteId, r.hour, r.views, r.visitors, r.bots, r.bytes, ...r.s);
    }
    this.breakdowns.write();
    return written;
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
      this.referrers.set(key, (r = referrerHost(referrer, host)));
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
