// The API's guard: a bearer token or, from the UI, a session cookie names the
// principal. A session authorises a change only with its CSRF token in
// X-CSRF-Token, and only from the admin host's own origin. Failed credentials
// are rate-limited per client address; a valid credential is never refused
// because of failures, and a request without any credential guesses nothing,
// so it is refused (401) without counting as a failure.
import type { Store } from "../db/index.ts";
import { verifyToken } from "../auth/tokens.ts";
import { csrfMatches, sessionCookie, verifySession } from "../auth/sessions.ts";
import { FailureLimiter } from "../auth/ratelimit.ts";
import { attachedClient } from "../http/client.ts";
import { HttpError } from "../http/errors.ts";
import { findSite, getSite, type Site } from "../sites/index.ts";
import type { Guard, Principal } from "./route.ts";

const FAILURES_PER_MINUTE = 20;
const BEARER_RE = /^Bearer\s+(\S+)\s*$/i;
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

const authFailures = new FailureLimiter(FAILURES_PER_MINUTE, 60_000);

const unauthorized = (message: string) => new HttpError(401, "unauthorized", message, { "www-authenticate": 'Bearer realm="fazt"' });
const forbidden = (message: string, code = "forbidden") => new HttpError(403, code, message);

function throwIfBlocked(req: Request): void {
  const wait = authFailures.blockedFor(attachedClient(req));
  if (wait > 0) {
    throw new HttpError(429, "too_many_failures", `too many failed authentications; retry in ${Math.ceil(wait / 1000)} s`, {
      "retry-after": String(Math.ceil(wait / 1000)),
    });
  }
}

/**
 * Refuses a browser request sent from another origin: an Origin header must
 * name the host the request was sent to, and Sec-Fetch-Site (when sent) must
 * be same-origin ("none", a typed address, is accepted for reads only).
 */
export function assertSameOrigin(req: Request): void {
  const origin = req.headers.get("origin");
  if (origin !== null) {
    let host: string | null = null;
    try {
      host = new URL(origin).host;
    } catch {
      // "null" or garbage: not our origin
    }
    if (host === null || withoutDefaultPort(host) !== withoutDefaultPort(req.headers.get("host") ?? ""))
      throw forbidden("requests from another origin are refused", "cross_origin");
  }
  const site = req.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && !(site === "none" && SAFE_METHODS.has(req.method))) {
    throw forbidden("requests from another site are refused", "cross_origin");
  }
}

const withoutDefaultPort = (host: string) => host.toLowerCase().replace(/:(80|443)$/, "");

export function createGuard(store: Store): Guard {
  const refuse = (req: Request, message: string): never => {
    throwIfBlocked(req);
    authFailures.fail(attachedClient(req));
    throw unauthorized(message);
  };

  const bySession = (req: Request, cookie: string): Principal => {
    assertSameOrigin(req);
    const session = verifySession(store, cookie);
    if (!session) return refuse(req, "the session has ended; sign in again");
    if (!SAFE_METHODS.has(req.method) && !csrfMatches(session, req.headers.get("x-csrf-token"))) {
      throw forbidden("a change made with a session needs its CSRF token in the X-CSRF-Token header", "csrf_failed");
    }
    return { via: "session", id: session.id, siteId: null, user: session.user };
  };

  return {
    authenticate(req: Request): Principal {
      const header = req.headers.get("authorization");
      if (header === null) {
        const cookie = sessionCookie(req);
        if (cookie !== null) return bySession(req, cookie);
        throwIfBlocked(req);
        throw unauthorized("missing bearer token (Authorization: Bearer TOKEN) or session");
      }
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
