// Daily breakdowns (analytics_daily_top): views per path, referrer origin,
// browser, OS and device, and requests per status code, per site and UTC day.
// Counted per batch in memory, then added in the writer's transaction. Each
// (site, day, kind) keeps at most `maxNames` names; later names are summed
// under "(other)", so random URLs cannot grow the table without bound.
import type { Statement } from "bun:sqlite";
import type { Store } from "../db/index.ts";
import type { ClientInfo } from "./classify.ts";

export type Kind = "path" | "referrer" | "browser" | "os" | "device" | "status";
export const OTHER = "(other)";
export const MAX_NAMES_PER_DAY = 1000;
const CACHE_MAX = 20_000;

/** Hits alike in every counted respect, folded together (traffic repeats a lot: one map update per hit). */
interface Alike {
  siteId: number;
  day: number;
  status: number;
  path: string;
  referrer: string | null;
  client: ClientInfo;
  n: number;
}

interface Count {
  siteId: number;
  day: number;
  kind: Kind;
  name: string;
  n: number;
}

export class DailyBreakdowns {
  private hits = new Map<string, Alike>();
  private statuses = new Map<string, Count>();
  /** site/day/kind -> names stored (read from the table on first use). */
  private readonly stored = new Map<string, number>();
  private readonly add: Statement;
  private readonly insert: Statement;
  private readonly countNames: Statement;

  constructor(
    store: Store,
    private readonly maxNames = MAX_NAMES_PER_DAY,
  ) {
    const db = store.write;
    this.add = db.prepare("UPDATE analytics_daily_top SET views = views + ? WHERE site_id = ? AND day = ? AND kind = ? AND name = ?");
    this.insert = db.prepare(
      `INSERT INTO analytics_daily_top (site_id, day, kind, name, views) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (site_id, day, kind, name) DO UPDATE SET views = views + excluded.views`,
    );
    this.countNames = db.prepare("SELECT count(*) AS n FROM analytics_daily_top WHERE site_id = ? AND day = ? AND kind = ?");
  }

  /** Count n requests of the batch; `alike` is the same for hits alike in every argument (and User-Agent). */
  countHit(
    alike: string,
    n: number,
    siteId: number,
    day: number,
    status: number,
    path: string,
    referrer: string | null,
    client: ClientInfo,
  ): void {
    const a = this.hits.get(alike);
    if (a) a.n += n;
    else this.hits.set(alike, { siteId, day, status, path, referrer, client, n });
  }

  /** Count n requests that only add to the status codes (bots, and requests other than documents). */
  countStatus(siteId: number, day: number, status: number, n: number): void {
    const key = `${siteId}\t${day}\t${status}`;
    const s = this.statuses.get(key);
    if (s) s.n += n;
    else this.statuses.set(key, { siteId, day, kind: "status", name: String(status), n });
  }

  /** Add the batch's counts to the table; call inside the writer's transaction. */
  write(): void {
    const counts = new Map<string, Count>();
    for (const s of this.statuses.values()) counts.set(`${s.siteId}\t${s.day}\tstatus\t${s.name}`, s);
    this.statuses = new Map();
    const add = (a: Alike, kind: Kind, name: string) => {
      const key = `${a.siteId}\t${a.day}\t${kind}\t${name}`;
      const c = counts.get(key);
      if (c) c.n += a.n;
      else counts.set(key, { siteId: a.siteId, day: a.day, kind, name, n: a.n });
    };
    for (const a of this.hits.values()) {
      add(a, "status", String(a.status));
      if (a.client.bot) continue; // breakdowns other than status count people only
      add(a, "path", a.path);
      if (a.referrer !== null) add(a, "referrer", a.referrer);
      add(a, "browser", a.client.browser);
      add(a, "os", a.client.os);
      add(a, "device", a.client.device);
    }
    this.hits = new Map();
    for (const c of counts.values()) {
      if (this.add.run(c.n, c.siteId, c.day, c.kind, c.name).changes === 1) continue;
      const group = `${c.siteId}\t${c.day}\t${c.kind}`;
      let names = this.stored.get(group) ?? (this.countNames.get(c.siteId, c.day, c.kind) as { n: number }).n;
      const name = names < this.maxNames ? c.name : OTHER;
      if (name !== OTHER) names++;
      this.insert.run(c.siteId, c.day, c.kind, name, c.n);
      if (this.stored.size >= CACHE_MAX) this.stored.clear();
      this.stored.set(group, names);
    }
  }

  /** Forget cached name counts (after a rollback, or when a site was deleted). */
  reset(): void {
    this.hits = new Map();
    this.statuses = new Map();
    this.stored.clear();
  }
}
