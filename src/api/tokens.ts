import { Elysia } from "elysia";
import type { App } from "../core/app.ts";
import { createToken } from "../auth/tokens.ts";
import { getSite } from "../sites/index.ts";
import { authenticate, requireAdmin } from "./auth.ts";

export function tokenRoutes(app: App) {
  return new Elysia().post("/api/sites/:site/tokens", ({ request, params, set }) => {
    requireAdmin(authenticate(app, request));
    const site = getSite(app.store, params.site);
    set.status = 201;
    return { token: createToken(app.store, { siteId: site.id, label: `deploy:${site.name}` }), site: site.name };
  });
}
