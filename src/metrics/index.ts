// Prometheus metrics: a registry other parts register into (App.metrics).
export { HttpMetrics, SITE, ADMIN, UNKNOWN } from "./http.ts";
