// Sites and their custom domains. Domains are the operator's decision: adding
// or removing one needs an admin.
import * as v from "valibot";
import type { ApiDeps } from "./deps.ts";
import { addDomain, createSite, deleteSite, getSite, listSites, removeDomain, type Site } from "../sites/index.ts";
import { getDeploy, removeRetiredDeploys, retireAllDeploys } from "../vfs/deploys.ts";
import { viewsToday } from "../analytics/index.ts";
import { deleteSiteSubmissions } from "../forms/index.ts";
import { detachSiteMail } from "../mail/index.ts";
import { adminRoutes, memberRoutes, siteRoutes } from "./route.ts";
import { nextTurn } from "../core/breather.ts";

const CreateSite = v.object({ name: v.string(), domains: v.optional(v.array(v.string()), []) });
const AddDomain = v.object({ domain: v.string() });

/** Rows a slice of a site's deletion removes or detaches (a few ms). */
const SLICE_ROWS = 500;

/** Run `slice` until it has nothing left to do, with a turn of the event loop after each. */
async function inSlices(slice: () => number): Promise<void> {
  while (slice() > 0) await nextTurn();
}

function siteView(app: ApiDeps, site: Site) {
  return {
    name: site.name,
    domains: site.domains,
    live_deploy: site.liveDeployId,
    url: app.siteUrl(site.name),
    created_at: new Date(site.createdAt).toISOString(),
  };
}

export function siteApi(app: ApiDeps) {
  const store = app.store;
  const member = memberRoutes().get("/api/sites", ({ principal }) => {
    const sites = listSites(store).filter((s) => principal.siteId === null || s.id === principal.siteId);
    const views = viewsToday(store.read);
    // For the dashboard's list: the live deploy's size and today's views, in the same answer.
    const live = (s: Site) => {
      if (!s.liveDeployId) return null;
      const d = getDeploy(store, s.id, s.liveDeployId);
      return { id: d.id, files: d.files, bytes: d.bytes, created_at: new Date(d.createdAt).toISOString() };
    };
    return { sites: sites.map((s) => ({ ...siteView(app, s), live: live(s), views_today: views.get(s.id) ?? 0 })) };
  });
  const admin = adminRoutes()
    .post("/api/sites", async ({ json, set }) => {
      const input = await json(CreateSite);
      const site = createSite(store, input.name, input.domains, app.config.domain);
      app.sitesChanged();
      set.status = 201;
      return siteView(app, site);
    })
    .delete("/api/sites/:site", async ({ params }) => {
      const site = getSite(store, params.site!);
      retireAllDeploys(store, site.id);
      app.sitesChanged();
      // What the site's row would take along in one cascade goes first, a slice at a time:
      // in one go it held the event loop ~250 ms for 150,000 manifest rows, ~500 ms for as many form submissions.
      await removeRetiredDeploys(store, nextTurn);
      await inSlices(() => deleteSiteSubmissions(store, site.id, SLICE_ROWS));
      await inSlices(() => detachSiteMail(store, site.id, SLICE_ROWS));
      deleteSite(store, site.name);
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
