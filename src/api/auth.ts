// The API's guard: a bearer token (or, from the UI, a session) names the
// principal; failures are rate-limited per client address. A valid credential
// is never refused because of failures: the block applies to failures only.
import type { Store } from "../db/index.ts";
import { verifyToken } from "../auth/tokens.ts";
import { FailureLimiter } from "../auth/ratelimit.ts";
import { attachedClient } from "../http/client.ts";
import { HttpError } from "../http/errors.ts";
import { findSite, getSite, type Site } from "../sites/index.ts";
import type { Guard, Principal } from "./route.ts";

const FAILURES_PER_MINUTE = 20;
const BEARER_RE = /^Bearer\s+(\S+)\s*$/i;

export const authFailures = new FailureLimiter(FAILURES_PER_MINUTE, 60_000);

const unauthorized = (message: string) => new HttpError(401, "unauthorized", message, { "www-authenticate": 'Bearer realm="fazt"' });
const forbidden = (message: string) => new HttpError(403, "forbidden", message);

export function createGuard(store: Store): Guard {
  const refuse = (req: Request, message: string): never => {
    const client = attachedClient(req);
    const wait = authFailures.blockedFor(client);
    if (wait > 0) {
      throw new HttpError(429, "too_many_failures", `too many failed authentications; retry in ${Math.ceil(wait / 1000)} s`, {
        "retry-after": String(Math.ceil(wait / 1000)),
      });
    }
    authFailures.fail(client);
    throw unauthorized(message);
  };

  return {
    authenticate(req: Request): Principal {
      const header = req.headers.get("authorization");
      if (header === null) return refuse(req, "missing bearer token (Authorization: Bearer TOKEN)");
      const m = BEARER_RE.exec(header);
      const scope = m ? verifyToken(store, m[1]!) : null;
      if (!scope) return refuse(req, "unknown or malformed token");
      return { via: "token", id: scope.tokenId, siteId: scope.siteId, user: null };
    },

    requireAdmin(principal: Principal): void {
      if (principal.siteId !== null) throw forbidden("this token is scoped to one site; an admin token is needed");
    },

    siteFor(principal: Principal, name: string): Site {
      if (principal.siteId === null) return getSite(store, name);
      // A scoped principal learns nothing about other sites, not even whether they exist.
      const site = findSite(store, name);
      if (!site || site.id !== principal.siteId) throw forbidden("this token may not act on that site");
      return site;
    },
  };
}
