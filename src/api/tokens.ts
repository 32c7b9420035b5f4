// Tokens: a deploy token per site, and the list/revoke of every token (admin).
import * as v from "valibot";
import type { App } from "../core/app.ts";
import { createToken } from "../auth/tokens.ts";
import { getSite } from "../sites/index.ts";
import { adminRoutes } from "./route.ts";

const CreateSiteToken = v.object({ label: v.optional(v.pipe(v.string(), v.maxLength(100))) });

export function tokenApi(app: App) {
  return [
    adminRoutes().post("/api/sites/:site/tokens", async ({ params, json, set }) => {
      const site = getSite(app.store, params.site!);
      const { label } = await json(CreateSiteToken);
      set.status = 201;
      return { token: createToken(app.store, { siteId: site.id, label: label ?? `deploy:${site.name}` }), site: site.name };
    }),
  ];
}
