import { Elysia } from "elysia";
import * as v from "valibot";
import type { App } from "../core/app.ts";
import { addDomain, createSite, deleteSite, getSite, listSites, removeDomain, type Site } from "../sites/index.ts";
import { authenticate, requireAdmin, requireSite } from "./auth.ts";
import { parseBody } from "./body.ts";

const CreateSite = v.object({ name: v.string(), domains: v.optional(v.array(v.string()), []) });
const AddDomain = v.object({ domain: v.string() });

// JSON whatever the Content-Type says: `curl -d '{...}'` sends form-urlencoded.
export const JSON_BODY = { parse: "json" } as const;

export function siteView(app: App, site: Site) {
  return {
    name: site.name,
    domains: site.domains,
    live_deploy: site.liveDeployId,
    url: app.siteUrl(site.name),
    created_at: new Date(site.createdAt).toISOString(),
  };
}

export function siteRoutes(app: App) {
  const store = app.store;
  const siteFor = (req: Request, name: string): Site => {
    const scope = authenticate(app, req);
    const site = getSite(store, name);
    requireSite(scope, site.id);
    return site;
  };
  return new Elysia()
    .get("/api/sites", ({ request }) => {
      const scope = authenticate(app, request);
      const sites = listSites(store).filter((s) => scope.siteId === null || s.id === scope.siteId);
      return { sites: sites.map((s) => siteView(app, s)) };
    })
    .post("/api/sites", ({ request, body, set }) => {
      requireAdmin(authenticate(app, request));
      const input = parseBody(CreateSite, body);
      const site = createSite(store, input.name, input.domains, app.config.domain);
      app.sitesChanged();
      set.status = 201;
      return siteView(app, site);
    }, JSON_BODY)
    .get("/api/sites/:site", ({ request, params }) => siteView(app, siteFor(request, params.site)))
    .delete("/api/sites/:site", ({ request, params }) => {
      requireAdmin(authenticate(app, request));
      deleteSite(store, params.site);
      app.sitesChanged();
      app.gc.schedule(); // its content, unless other deploys share it
      return { deleted: params.site };
    })
    .post("/api/sites/:site/domains", ({ request, params, body, set }) => {
      siteFor(request, params.site);
      const domain = addDomain(store, params.site, parseBody(AddDomain, body).domain, app.config.domain);
      app.sitesChanged();
      set.status = 201;
      return { domain, site: params.site };
    }, JSON_BODY)
    .delete("/api/sites/:site/domains/:domain", ({ request, params }) => {
      siteFor(request, params.site);
      removeDomain(store, params.site, decodeURIComponent(params.domain));
      app.sitesChanged();
      return { deleted: params.domain };
    });
}
