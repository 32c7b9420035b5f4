// The admin host's HTTP API on Elysia. Each area declares route groups with
// their access (route.ts); here every route gets the guard and one error mapping.
import { Elysia } from "elysia";
import type { ApiDeps } from "./deps.ts";
import { HttpError, errorResponse } from "../http/errors.ts";
import { log } from "../log/index.ts";
import { createGuard } from "./auth.ts";
import { guarded, type Route } from "./route.ts";
import { healthApi } from "./health.ts";
import { siteApi } from "./sites.ts";
import { tokenApi } from "./tokens.ts";
import { deployApi } from "./deploys.ts";
import { certificateApi } from "./certificates.ts";
import { analyticsApi } from "./analytics.ts";
import { metricsApi } from "./metrics.ts";
import { backupApi } from "./backup.ts";
import { settingsApi } from "./settings.ts";
import { sessionApi } from "./session.ts";
import { systemApi } from "./system.ts";
import { mailApi } from "./mail.ts";
import { formsApi } from "./forms.ts";

type ApiHandler = (req: Request) => Promise<Response> | Response;

/** Every route of the API, with its access (the route test walks this list). */
export function apiRoutes(app: ApiDeps): Route[] {
  const areas: ((app: ApiDeps) => { routes: Route[] }[])[] = [
    healthApi,
    siteApi,
    tokenApi,
    deployApi,
    certificateApi,
    settingsApi,
    analyticsApi,
    metricsApi,
    sessionApi,
    systemApi,
    backupApi,
    mailApi,
    formsApi,
  ];
  return areas.flatMap((area) => area(app).flatMap((group) => group.routes));
}

export function createApi(app: ApiDeps): ApiHandler {
  const guard = createGuard(app.store);
  const api = new Elysia({ aot: true }).onError(({ error, code }) => {
    if (error instanceof HttpError) return errorResponse(error.status, error.code, error.message, error.headers);
    if (code === "NOT_FOUND") return errorResponse(404, "not_found", "no such route");
    log.error("api error", { err: error as Error });
    return errorResponse(500, "internal", "internal error");
  });
  // Bodies are never parsed by Elysia: the guard runs first, then a handler reads what it needs.
  for (const route of apiRoutes(app)) api.route(route.method, route.path, guarded(route, guard) as never, { parse: "none" });
  return (req) => api.handle(req);
}
