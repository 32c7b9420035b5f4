// The admin host's HTTP API (Elysia). One file per API area registers its routes.
import { Elysia } from "elysia";
import type { App } from "../core/app.ts";
import { HttpError, errorResponse } from "../http/errors.ts";
import { healthRoutes } from "./health.ts";
import { siteRoutes } from "./sites.ts";
import { tokenRoutes } from "./tokens.ts";
import { deployRoutes } from "./deploys.ts";
import { certificateRoutes } from "./certificates.ts";
import { analyticsRoutes } from "./analytics.ts";
import { metricsRoutes } from "./metrics.ts";
import { backupRoutes } from "./backup.ts";
import { log } from "../log/index.ts";

export type ApiHandler = (req: Request) => Promise<Response> | Response;

export function createApi(app: App): ApiHandler {
  const api = new Elysia({ aot: true })
    .onError(({ error, code }) => {
      if (error instanceof HttpError) {
        const headers: Record<string, string> = error.status === 401 ? { "www-authenticate": 'Bearer realm="fazt"' } : {};
        return errorResponse(error.status, error.code, error.message, { ...headers, ...error.headers });
      }
      if (code === "NOT_FOUND") return errorResponse(404, "not_found", "no such route");
      if (code === "PARSE") return errorResponse(400, "bad_request", "request body is not valid JSON");
      if (code === "VALIDATION") return errorResponse(400, "bad_request", (error as Error).message.split("\n")[0] ?? "invalid request");
      log.error("api error", { err: error as Error });
      return errorResponse(500, "internal", "internal error");
    })
    .use(healthRoutes(app))
    .use(siteRoutes(app))
    .use(tokenRoutes(app))
    .use(deployRoutes(app))
    .use(certificateRoutes(app))
    .use(analyticsRoutes(app))
    .use(metricsRoutes(app))
    .use(backupRoutes(app));
  return (req) => api.handle(req);
}
