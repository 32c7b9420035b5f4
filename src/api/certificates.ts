// GET /api/certificates and per-site HSTS settings.
import * as v from "valibot";
import type { App } from "../core/app.ts";
import { getSite } from "../sites/index.ts";
import { listCertificates } from "../tls/status.ts";
import { adminRoutes, siteRoutes } from "./route.ts";

// HSTS per site: max_age 0 turns it off. Capped at two years (the preload list's maximum).
const Hsts = v.object({
  max_age: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(63_072_000)),
  include_subdomains: v.optional(v.boolean(), false),
});

export function certificateApi(app: App) {
  const admin = adminRoutes().get("/api/certificates", () => ({ certificates: listCertificates(app) }));
  const site = siteRoutes().put("/api/sites/:site/hsts", async ({ params, json }) => {
      const input = await json(Hsts);
      const hsts = input.max_age > 0 ? input : null;
      app.store.tx(() => {
        const site = getSite(app.store, params.site!);
        const settings = { ...site.settings, hsts: hsts ?? undefined };
        app.store.write.query("UPDATE sites SET settings = ? WHERE id = ?").run(JSON.stringify(settings), site.id);
      });
      app.sitesChanged();
      return { site: params.site, hsts };
    });
  return [admin, site];
}
