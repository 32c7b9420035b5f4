// GET /api/certificates and per-site HSTS settings.
import { Elysia } from "elysia";
import * as v from "valibot";
import type { App } from "../core/app.ts";
import { getSite } from "../sites/index.ts";
import { listCertificates } from "../tls/status.ts";
import { authenticate, requireAdmin, requireSite } from "./auth.ts";
import { parseBody } from "./body.ts";

// HSTS per site: max_age 0 turns it off. Capped at two years (the preload list's maximum).
const Hsts = v.object({
  max_age: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(63_072_000)),
  include_subdomains: v.optional(v.boolean(), false),
});

export function certificateRoutes(app: App) {
  return new Elysia()
    .get("/api/certificates", ({ request }) => {
      requireAdmin(authenticate(app, request));
      return { certificates: listCertificates(app.store.read) };
    })
    .put("/api/sites/:site/hsts", ({ request, params, body }) => {
      requireSite(authenticate(app, request), getSite(app.store, params.site).id);
      const input = parseBody(Hsts, body);
      const hsts = input.max_age > 0 ? input : null;
      app.store.tx(() => {
        const site = getSite(app.store, params.site);
        const settings = { ...site.settings, hsts: hsts ?? undefined };
        app.store.write.query("UPDATE sites SET settings = ? WHERE id = ?").run(JSON.stringify(settings), site.id);
      });
      app.sitesChanged();
      return { site: params.site, hsts };
    });
}
