// Prometheus metrics: a registry other parts register into (App.metrics).
export { Registry, Counter, Gauge, CounterSeries, GaugeSeries, EXPOSITION_CONTENT_TYPE } from "./registry.ts";
export { HttpMetrics, SITE, ADMIN, UNKNOWN, type HostClass } from "./http.ts";
export { registerProcessMetrics } from "./process.ts";
