import type { ApiDeps } from "./deps.ts";
import { dayOf, parseDay, siteReport } from "../analytics/index.ts";
import { badRequest } from "../http/errors.ts";
import { siteRoutes } from "./route.ts";

const DEFAULT_DAYS = 7;
const MAX_DAYS = 3660;
const DEFAULT_LIMIT = 10;
const MAX_LIMIT = 100;

function day(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined || value === "") return fallback;
  const d = parseDay(value);
  if (d === null) throw badRequest(`${name}: expected a date YYYY-MM-DD, got "${value}"`);
  return d;
}

/** ?from=&to= (UTC days, inclusive; default the last 7 days) and ?limit= for the top lists. */
function reportRange(query: Record<string, string | undefined>, now = Date.now()) {
  const to = day(query.to, "to", dayOf(now));
  const from = day(query.from, "from", to - (DEFAULT_DAYS - 1));
  if (from > to) throw badRequest(`from (${query.from}) is after to (${query.to ?? "today"})`);
  if (to - from + 1 > MAX_DAYS) throw badRequest(`at most ${MAX_DAYS} days per report`);
  const limit = query.limit === undefined ? DEFAULT_LIMIT : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    throw badRequest(`limit: expected an integer from 1 to ${MAX_LIMIT}`);
  }
  return { from, to, limit };
}

export function analyticsApi(app: ApiDeps) {
  return [
    siteRoutes().get("/api/sites/:site/analytics", ({ site, query }) => {
      const { from, to, limit } = reportRange(query);
      return siteReport(app.store.read, site, from, to, limit);
    }),
  ];
}
