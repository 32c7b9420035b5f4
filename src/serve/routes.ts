// The routing table: host -> site, kept in memory and rebuilt when sites,
// domains or live deploys change, so no SQL runs per request for routing.
import type { Store } from "../db/index.ts";
import { allDomains, siteSummaries, type SiteSettings } from "../sites/index.ts";
import { LOCAL_ADMIN_HOSTS, normalizeHost } from "../http/host.ts";
import { systemClock, type Clock } from "../core/clock.ts";

export interface SiteRoute {
  siteId: number;
  siteName: string;
  deployId: string | null;
  /** True when this host is a preview of a specific (maybe not live) deploy. */
  preview: boolean;
  /** When this process saw the live deploy go live (or started): Last-Modified never predates it. */
  liveSince: number;
  /** SPA fallback page from the site's settings (e.g. /index.html), or null. */
  spa: string | null;
  settings: SiteSettings;
}

/** A site route as reached through one normalised host name. */
export type HostRoute = SiteRoute & { host: string };

/** What a Host header leads to. */
type HostTarget = HostRoute | "admin" | null;

const HOST_CACHE_MAX = 1024;

export class RoutingTable {
  private hosts = new Map<string, SiteRoute>();
  /** Raw Host header -> target, so the hot path skips normalisation and preview SQL. */
  private byRawHost = new Map<string, HostTarget>();
  private adminHosts: Set<string>;
  /** Suffix under which site NAME answers at NAME + suffix. */
  readonly siteSuffix: string;

  constructor(
    private readonly store: Store,
    readonly baseDomain: string | null,
    /** Stamps liveSince when a live deploy is seen. */
    private readonly clock: Clock = systemClock,
  ) {
    this.siteSuffix = baseDomain ? `.${baseDomain}` : ".localhost";
    this.adminHosts = baseDomain ? new Set([`admin.${baseDomain}`]) : new Set(LOCAL_ADMIN_HOSTS);
    this.reload();
  }

  reload(): void {
    const next = new Map<string, SiteRoute>();
    const byId = new Map<number, SiteRoute>();
    const previous = new Map([...this.hosts.values()].map((r) => [r.siteId, r]));
    const now = this.clock();
    for (const s of siteSummaries(this.store)) {
      const before = previous.get(s.id);
      const liveSince = before && before.deployId === s.liveDeployId ? before.liveSince : now;
      const route = {
        siteId: s.id,
        siteName: s.name,
        deployId: s.liveDeployId,
        preview: false,
        liveSince,
        spa: s.settings.spa,
        settings: s.settings,
      };
      byId.set(s.id, route);
      next.set(s.name + this.siteSuffix, route);
    }
    for (const d of allDomains(this.store)) {
      const route = byId.get(d.siteId);
      if (route) next.set(d.domain, route);
    }
    this.hosts = next;
    this.byRawHost = new Map();
  }

  /** The target of a raw Host header, remembered per distinct header value. */
  forHost(raw: string | null): HostTarget {
    const key = raw ?? "";
    const hit = this.byRawHost.get(key);
    if (hit !== undefined) return hit;
    const host = normalizeHost(raw);
    let target: HostTarget = "admin";
    if (!this.isAdminHost(host)) {
      const route = this.lookup(host);
      target = route ? { ...route, host } : null;
    }
    // An unknown preview host may become valid with the next deploy: not remembered.
    if (target === null && host.includes("--")) return null;
    if (this.byRawHost.size >= HOST_CACHE_MAX) this.byRawHost.clear();
    this.byRawHost.set(key, target);
    return target;
  }

  isAdminHost(host: string): boolean {
    return this.adminHosts.has(host);
  }

  adminHostNames(): string[] {
    return [...this.adminHosts];
  }

  /** The site for a normalised host, including DEPLOY--SITE preview hosts. */
  lookup(host: string): SiteRoute | undefined {
    const direct = this.hosts.get(host);
    if (direct || !host.endsWith(this.siteSuffix)) return direct;
    const label = host.slice(0, -this.siteSuffix.length);
    const sep = label.indexOf("--");
    if (sep <= 0 || label.includes(".")) return undefined;
    const site = this.hosts.get(label.slice(sep + 2) + this.siteSuffix);
    if (!site) return undefined;
    const deployId = label.slice(0, sep);
    const owned = this.store.read
      .query("SELECT 1 FROM deploys WHERE id = ? AND site_id = ? AND state = 'ready'")
      .get(deployId, site.siteId);
    return owned ? { ...site, deployId, preview: true } : undefined;
  }

  /** Every hostname a site owns (for certificates): its domains and NAME.BASE. */
  ownedHosts(): string[] {
    return [...this.hosts.keys()].filter((h) => this.baseDomain !== null || !h.endsWith(".localhost"));
  }

  siteUrl(siteName: string, scheme: string, port: number | null, deployId?: string): string {
    const host = (deployId ? `${deployId}--${siteName}` : siteName) + this.siteSuffix;
    const defaultPort = scheme === "https" ? 443 : 80;
    return `${scheme}://${host}${port && port !== defaultPort ? `:${port}` : ""}/`;
  }
}
