// Writing a batch of hits: raw events plus the hourly rollups, in one write
// transaction. Visitor counting: a visitor's first hit of a UTC day (per
// site) adds 1 to its hour's `visitors`, so a day's hours sum to its
// distinct visitors and stay right after raw events are pruned.
import type { Statement } from "bun:sqlite";
import type { Store } from "../db/index.ts";
import { classifyUserAgent, referrerHost, visitorHash } from "./classify.ts";
import { dayOf, hourOf } from "./days.ts";

/** One served request, as the hot path records it (raw, unprocessed). */
export interface Hit {
  ts: number;
  siteId: number;
  host: string;
  path: string;
  status: number;
  bytes: number;
  referrer: string | null;
  ua: string;
  ip: string;
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

export class EventWriter {
  private readonly salts = new Map<number, Uint8Array>();
  private readonly insertEvent: Statement;
  private readonly markVisitor: Statement;
  private readonly upsertHour: Statement;
  private readonly liveSites: Statement;
  private readonly getSalt: Statement;
  private readonly putSalt: Statement;

  constructor(private readonly store: Store) {
    const db = store.write;
    this.insertEvent = db.prepare(
      `INSERT INTO analytics_events (ts, site_id, path, status, bytes, referrer, browser, os, device, bot, visitor)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
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

  /** Write hits in one transaction. Hits of sites deleted meanwhile are skipped. Returns the rows written. */
  write(batch: readonly Hit[]): number {
    try {
      return this.store.tx(() => this.writeRows(batch));
    } catch (err) {
      this.salts.clear(); // a salt created in the failed transaction was rolled back too
      throw err;
    }
  }

  private writeRows(batch: readonly Hit[]): number {
    const live = new Set((this.liveSites.all() as { id: number }[]).map((r) => r.id));
    const rollups = new Map<string, Rollup>();
    let written = 0;
    for (const h of batch) {
      if (!live.has(h.siteId)) continue;
      const client = classifyUserAgent(h.ua);
      const day = dayOf(h.ts);
      const visitor = visitorHash(this.salt(day), h.ip, h.ua);
      this.insertEvent.run(
        h.ts, h.siteId, h.path, h.status, h.bytes, referrerHost(h.referrer, h.host),
        client.browser, client.os, client.device, client.bot ? 1 : 0, visitor,
      );
      written++;
      const hour = hourOf(h.ts);
      const key = `${h.siteId}:${hour}`;
      let r = rollups.get(key);
      if (!r) rollups.set(key, (r = { siteId: h.siteId, hour, views: 0, visitors: 0, bots: 0, bytes: 0, s: [0, 0, 0, 0] }));
      r.bytes += h.bytes;
      const cls = ((h.status / 100) | 0) - 2;
      if (cls >= 0 && cls <= 3) r.s[cls]!++;
      if (client.bot) {
        r.bots++;
        continue;
      }
      r.views++;
      if (this.markVisitor.run(h.siteId, day, visitor).changes === 1) r.visitors++;
    }
    for (const r of rollups.values()) {
      this.upsertHour.run(r.siteId, r.hour, r.views, r.visitors, r.bots, r.bytes, ...r.s);
    }
    return written;
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
