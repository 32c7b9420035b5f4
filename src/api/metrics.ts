import type { ApiDeps } from "./deps.ts";
import { EXPOSITION_CONTENT_TYPE } from "../metrics/registry.ts";
import { adminRoutes } from "./route.ts";

/** GET /metrics: Prometheus text format, admin only. */
export function metricsApi(app: ApiDeps) {
  return [
    adminRoutes().get("/metrics", () => new Response(app.metrics.expose(), { headers: { "content-type": EXPOSITION_CONTENT_TYPE } })),
  ];
}
