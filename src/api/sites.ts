// Sites and their custom domains. Domains are the operator's decision: adding
// or removing one needs an admin.
import * as v from "valibot";
import type { App } from "../core/app.ts";
import { addDomain, createSite, deleteSite, listSites, removeDomain, type Site } from "../sites/index.ts";
import { adminRoutes, memberRoutes, siteRoutes } from "./route.ts";

const CreateSite = v.object({ name: v.string(), domains: v.optional(v.array(v.string()), []) });
const AddDomain = v.object({ domain: v.string() });

export function siteView(app: App, site: Site) {
  return {
    name: site.name,
    domains: site.domains,
    live_deploy: site.liveDeployId,
    url: app.siteUrl(site.name),
    created_at: new Date(site.createdAt).toISOString(),
  };
}

export function siteApi(app: App) {
  const store = app.store;
  const member = memberRoutes().get("/api/sites", ({ principal }) => {
    const sites = listSites(store).filter((s) => principal.siteId === null || s.id === principal.siteId);
    return { sites: sites.map((s) => siteView(app, s)) };
  });
  const admin = adminRoutes()
    .post("/api/sites", async ({ json, set }) => {
      const input = await json(CreateSite);
      const site = createSite(store, input.name, input.domains, app.config.domain);
      app.sitesChanged();
      set.status = 201;
      return siteView(app, site);
    })
    .delete("/api/sites/:site", ({ params }) => {
      deleteSite(store, params.site!);
      app.sitesChanged();
      app.gc.schedule(); // its content, unless other deploys share it
      return { deleted: params.site };
    })
    .post("/api/sites/:site/domains", async ({ params, json, set }) => {
      const domain = addDomain(store, params.site!, (await json(AddDomain)).domain, app.config.domain);
      app.sitesChanged();
      set.status = 201;
      return { domain, site: params.site };
    })
    .delete("/api/sites/:site/domains/:domain", ({ params }) => {
      // Elysia has already decoded the parameter once.
      removeDomain(store, params.site!, params.domain!);
      app.sitesChanged();
      return { deleted: params.domain };
    });
  const site = siteRoutes().get("/api/sites/:site", ({ site }) => siteView(app, site));
  return [member, admin, site];
}
