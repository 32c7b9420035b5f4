// A site's settings: read and change them (applied at once, no restart).
import * as v from "valibot";
import type { ApiDeps } from "./deps.ts";
import { SettingsPatch, settingsChange, settingsJson, updateSettings, type Site } from "../sites/index.ts";
import { badRequest } from "../http/errors.ts";
import { formSender, noSenderMessage } from "../forms/index.ts";
import { parseBody } from "./body.ts";
import { siteRoutes } from "./route.ts";

// The older one-setting route, kept for scripts: PUT {max_age, include_subdomains}.
const HstsBody = v.object({ max_age: v.number(), include_subdomains: v.optional(v.boolean()) });

/** A form that notifies needs a sender on a domain the site owns: say so now rather than drop the mail later. */
function checkNotifySender(site: Site, forms: NonNullable<SettingsPatch["forms"]>, baseDomain: string | null): void {
  const notifying = Object.entries(forms).find(([, f]) => f.notify.length > 0);
  if (!notifying || formSender(site, baseDomain)) return;
  throw badRequest(`forms.${notifying[0]}.notify: ${noSenderMessage(site.name)}`, "no_sender");
}

export function settingsApi(app: ApiDeps) {
  const change = async (site: string, patch: SettingsPatch) => {
    const settings = updateSettings(app.store, site, await settingsChange(patch));
    app.sitesChanged();
    return settings;
  };
  return [
    siteRoutes()
      .get("/api/sites/:site/settings", ({ site }) => ({ site: site.name, settings: settingsJson(site.settings) }))
      .patch("/api/sites/:site/settings", async ({ site, json }) => {
        const patch = await json(SettingsPatch);
        if (patch.forms) checkNotifySender(site, patch.forms, app.config.domain);
        return { site: site.name, settings: settingsJson(await change(site.name, patch)) };
      })
      .put("/api/sites/:site/hsts", async ({ site, json }) => {
        const hsts = settingsJson(await change(site.name, { hsts: parseBody(SettingsPatch, { hsts: await json(HstsBody) }).hsts })).hsts;
        return { site: site.name, hsts };
      }),
  ];
}
