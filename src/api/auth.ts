// Bearer-token authentication for the API, with a per-IP limit on failures.
import type { App } from "../core/app.ts";
import { verifyToken, type TokenScope } from "../auth/tokens.ts";
import { FailureLimiter } from "../auth/ratelimit.ts";
import { clientIp } from "../server/client-ip.ts";
import { ApiError } from "./errors.ts";

export const authFailures = new FailureLimiter(20, 60_000);

export function authenticate(app: App, req: Request): TokenScope {
  const ip = clientIp(req);
  const wait = authFailures.blockedFor(ip);
  if (wait > 0) throw new ApiError(429, "too_many_failures", `too many failed authentications; retry in ${Math.ceil(wait / 1000)} s`);
  const header = req.headers.get("authorization") ?? "";
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) {
    authFailures.fail(ip);
    throw new ApiError(401, "unauthorized", "missing bearer token (Authorization: Bearer TOKEN)");
  }
  const scope = verifyToken(app.store, m[1]!);
  if (!scope) {
    authFailures.fail(ip);
    throw new ApiError(401, "unauthorized", "unknown or malformed token");
  }
  return scope;
}

export function requireAdmin(scope: TokenScope): void {
  if (scope.siteId !== null) throw new ApiError(403, "forbidden", "this token is scoped to one site; an admin token is needed");
}

export function requireSite(scope: TokenScope, siteId: number): void {
  if (scope.siteId !== null && scope.siteId !== siteId) throw new ApiError(403, "forbidden", "this token may not act on that site");
}
