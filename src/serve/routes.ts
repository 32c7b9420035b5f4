// The routing table: host -> site, kept in memory and rebuilt when sites,
// domains or live deploys change, so no SQL runs per request for routing.
import type { Store } from "../db/index.ts";
import { LOCAL_ADMIN_HOSTS } from "./host.ts";

export interface SiteRoute {
  siteId: number;
  siteName: string;
  deployId: string | null;
  /** True when this host is a preview of a specific (maybe not live) deploy. */
  preview: boolean;
}

export class RoutingTable {
  private hosts = new Map<string, SiteRoute>();
  private adminHosts: Set<string>;
  /** Suffix under which site NAME answers at NAME + suffix. */
  readonly siteSuffix: string;

  constructor(
    private readonly store: Store,
    readonly baseDomain: string | null,
  ) {
    this.siteSuffix = baseDomain ? `.${baseDomain}` : ".localhost";
    this.adminHosts = baseDomain ? new Set([`admin.${baseDomain}`]) : new Set(LOCAL_ADMIN_HOSTS);
    this.reload();
  }

  reload(): void {
    const next = new Map<string, SiteRoute>();
    const sites = this.store.write.query("SELECT id, name, live_deploy_id FROM sites").all() as {
      id: number;
      name: string;
      live_deploy_id: string | null;
    }[];
    const byId = new Map<number, SiteRoute>();
    for (const s of sites) {
      const route = { siteId: s.id, siteName: s.name, deployId: s.live_deploy_id, preview: false };
      byId.set(s.id, route);
      next.set(s.name + this.siteSuffix, route);
    }
    for (const d of this.store.write.query("SELECT domain, site_id FROM domains").all() as { domain: string; site_id: number }[]) {
      const route = byId.get(d.site_id);
      if (route) next.set(d.domain, route);
    }
    this.hosts = next;
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
    const owned = this.store.read.query("SELECT 1 FROM deploys WHERE id = ? AND site_id = ?").get(deployId, site.siteId);
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
