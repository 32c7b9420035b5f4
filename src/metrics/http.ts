// fazt_http_requests_total by host class and status class: 3 x 5 series at
// most, resolved up front so counting a request is an array index and an add.
// Site traffic is also counted per site (fazt_site_*): the label is the site
// name, never a Host header or path, so series are bounded by the sites the
// operator made (and by the registry's cap per metric).
import type { Counter, CounterSeries, Registry } from "./registry.ts";

const HOST_CLASSES = ["site", "admin", "unknown"] as const;
type HostClass = 0 | 1 | 2; // index into HOST_CLASSES
export const SITE: HostClass = 0;
export const ADMIN: HostClass = 1;
export const UNKNOWN: HostClass = 2;
const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

interface SiteSeries {
  name: string;
  codes: CounterSeries[];
  bytes: CounterSeries;
}

function statusClass(status: number): number {
  const k = ((status / 100) | 0) - 1;
  return Math.min(Math.max(k, 0), 4);
}

export class HttpMetrics {
  private readonly series: CounterSeries[][];
  private readonly siteRequests: Counter;
  private readonly siteBytes: Counter;
  private readonly sites = new Map<number, SiteSeries>();

  constructor(registry: Registry) {
    const requests = registry.counter(
      "fazt_http_requests_total",
      "HTTP requests answered, by host class (site, admin, unknown) and status class.",
      ["host", "code"],
    );
    this.series = HOST_CLASSES.map((h) => STATUS_CLASSES.map((c) => requests.labels(h, c)));
    this.siteRequests = registry.counter("fazt_site_requests_total", "Requests answered per site, by status class.", ["site", "code"]);
    this.siteBytes = registry.counter("fazt_site_response_bytes_total", "Response body bytes per site (0 for HEAD and 304).", ["site"]);
  }

  count(host: HostClass, status: number): void {
    this.series[host]![statusClass(status)]!.inc();
  }

  /** A site's answer: counted by host class and per site. */
  countSite(siteId: number, siteName: string, status: number, bytes: number): void {
    const k = statusClass(status);
    this.series[SITE]![k]!.inc();
    let s = this.sites.get(siteId);
    if (s === undefined || s.name !== siteName) s = this.siteSeries(siteId, siteName);
    s.codes[k]!.inc();
    s.bytes.inc(bytes);
  }

  /** The sites that exist now (called when sites change): their series start at 0, deleted sites' series go. */
  setSites(sites: readonly { id: number; name: string }[]): void {
    const ids = new Set(sites.map((s) => s.id));
    for (const [id, s] of this.sites) {
      if (ids.has(id)) continue;
      this.sites.delete(id);
      for (const c of STATUS_CLASSES) this.siteRequests.remove(s.name, c);
      this.siteBytes.remove(s.name);
    }
    for (const s of sites) if (this.sites.get(s.id)?.name !== s.name) this.siteSeries(s.id, s.name);
  }

  private siteSeries(siteId: number, name: string): SiteSeries {
    const s = { name, codes: STATUS_CLASSES.map((c) => this.siteRequests.labels(name, c)), bytes: this.siteBytes.labels(name) };
    this.sites.set(siteId, s);
    return s;
  }
}
