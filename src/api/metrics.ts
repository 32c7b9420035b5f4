import { Elysia } from "elysia";
import type { App } from "../core/app.ts";
import { EXPOSITION_CONTENT_TYPE } from "../metrics/registry.ts";
import { authenticate, requireAdmin } from "./auth.ts";

/** GET /metrics: Prometheus text format, admin token required. */
export function metricsRoutes(app: App) {
  return new Elysia().get("/metrics", ({ request }) => {
    requireAdmin(authenticate(app, request));
    return new Response(app.metrics.expose(), { headers: { "content-type": EXPOSITION_CONTENT_TYPE } });
  });
}
