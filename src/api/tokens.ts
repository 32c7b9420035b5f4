// Tokens: a deploy token per site; listing (never the secret) and revoking (admin).
import * as v from "valibot";
import type { ApiDeps } from "./deps.ts";
import { createToken, listTokens, revokeToken, type TokenInfo } from "../auth/tokens.ts";
import { getSite } from "../sites/index.ts";
import { notFound } from "../http/errors.ts";
import { adminRoutes } from "./route.ts";

const CreateToken = v.object({
  label: v.optional(v.pipe(v.string(), v.maxLength(100))),
  site: v.optional(v.string()),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function tokenView(t: TokenInfo) {
  return {
    id: t.id,
    label: t.label,
    scope: t.siteName === null ? "admin" : `site:${t.siteName}`,
    site: t.siteName,
    created_at: iso(t.createdAt),
    last_used_at: iso(t.lastUsedAt),
  };
}

export function tokenApi(app: ApiDeps) {
  const store = app.store;
  return [
    adminRoutes()
      .post("/api/sites/:site/tokens", async ({ params, json, set }) => {
        const site = getSite(store, params.site!);
        const { label } = await json(CreateToken);
        set.status = 201;
        return { token: createToken(store, { siteId: site.id, label: label ?? `deploy:${site.name}` }), site: site.name };
      })
      .get("/api/tokens", () => ({ tokens: listTokens(store).map(tokenView) }))
      // {site?, label?}: a token for one site, or (without site) another admin token.
      .post("/api/tokens", async ({ json, set }) => {
        const input = await json(CreateToken);
        const site = input.site === undefined ? null : getSite(store, input.site);
        const token = createToken(store, { siteId: site?.id ?? null, label: input.label ?? (site ? `deploy:${site.name}` : "admin") });
        set.status = 201;
        return { token, site: site?.name ?? null };
      })
      .delete("/api/tokens/:id", ({ params }) => {
        if (!revokeToken(store, params.id!)) throw notFound("token_not_found", `no token ${params.id}`);
        return { revoked: params.id };
      }),
  ];
}
