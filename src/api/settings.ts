// A site's settings: read and change them (applied at once, no restart).
import * as v from "valibot";
import type { ApiDeps } from "./deps.ts";
import { SettingsPatch, settingsJson, updateSettings } from "../sites/index.ts";
import { parseBody } from "./body.ts";
import { siteRoutes } from "./route.ts";

// The older one-setting route, kept for scripts: PUT {max_age, include_subdomains}.
const HstsBody = v.object({ max_age: v.number(), include_subdomains: v.optional(v.boolean()) });

export function settingsApi(app: ApiDeps) {
  const change = (site: string, patch: SettingsPatch) => {
    const settings = updateSettings(app.store, site, patch);
    app.sitesChanged();
    return settings;
  };
  return [
    siteRoutes()
      .get("/api/sites/:site/settings", ({ site }) => ({ site: site.name, settings: settingsJson(site.settings) }))
      .patch("/api/sites/:site/settings", async ({ site, json }) => ({
        site: site.name,
        settings: settingsJson(change(site.name, await json(SettingsPatch))),
      }))
      .put("/api/sites/:site/hsts", async ({ site, json }) => {
        const hsts = settingsJson(change(site.name, { hsts: parseBody(SettingsPatch, { hsts: await json(HstsBody) }).hsts })).hsts;
        return { site: site.name, hsts };
      }),
  ];
}
