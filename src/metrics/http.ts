// fazt_http_requests_total by host class and status class: 3 x 5 series at
// most, resolved up front so counting a request is an array index and an add.
import type { CounterSeries, Registry } from "./registry.ts";

export const HOST_CLASSES = ["site", "admin", "unknown"] as const;
export type HostClass = 0 | 1 | 2; // index into HOST_CLASSES
export const SITE: HostClass = 0;
export const ADMIN: HostClass = 1;
export const UNKNOWN: HostClass = 2;
const STATUS_CLASSES = ["1xx", "2xx", "3xx", "4xx", "5xx"] as const;

export class HttpMetrics {
  private readonly series: CounterSeries[][];

  constructor(registry: Registry) {
    const requests = registry.counter(
      "fazt_http_requests_total",
      "HTTP requests answered, by host class (site, admin, unknown) and status class.",
      ["host", "code"],
    );
    this.series = HOST_CLASSES.map((h) => STATUS_CLASSES.map((c) => requests.labels(h, c)));
  }

  count(host: HostClass, status: number): void {
    const k = ((status / 100) | 0) - 1;
    this.series[host]![k < 0 ? 0 : k > 4 ? 4 : k]!.inc();
  }
}
