import { Elysia } from "elysia";
import type { App } from "../core/app.ts";
import { getSite } from "../sites/index.ts";
import { dayOf, parseDay, siteReport } from "../analytics/index.ts";
import { authenticate, requireSite } from "./auth.ts";
import { ApiError } from "./errors.ts";

const DEFAULT_DAYS = 7;
const MAX_DAYS = 3660;
const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;

function day(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const d = parseDay(value);
  if (d === null) throw new ApiError(400, "bad_request", `${name}: expected a date YYYY-MM-DD, got "${value}"`);
  return d;
}

/** ?from=&to= (UTC days, inclusive; default the last 7 days) and ?limit= for the top lists. */
export function reportRange(query: Record<string, string | undefined>, now = Date.now()) {
  const to = day(query.to, "to", dayOf(now));
  const from = day(query.from, "from", to - (DEFAULT_DAYS - 1));
  if (from > to) throw new ApiError(400, "bad_request", `from (${query.from}) is after to (${query.to ?? "today"})`);
  if (to - from + 1 > MAX_DAYS) throw new ApiError(400, "bad_request", `at most ${MAX_DAYS} days per report`);
  const limit = query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw new ApiError(400, "bad_request", `limit: expected an integer from 1 to ${MAX_LIMIT}`);
  }
  return { from, to, limit };
}

export function analyticsRoutes(app: App) {
  return new Elysia().get("/api/sites/:site/analytics", ({ request, params, query }) => {
    const scope = authenticate(app, request);
    const site = getSite(app.store, params.site);
    requireSite(scope, site.id);
    const { from, to, limit } = reportRange(query);
    return siteReport(app.store.read, site, from, to, limit);
  });
}
