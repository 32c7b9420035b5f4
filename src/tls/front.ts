// What HTTPS adds in front of the ordinary request handler: on the plain
// HTTP listener the ACME challenge answers and the 308 to HTTPS; on the TLS
// listener on-demand ordering and the per-site HSTS header.
import { siteSummaries } from "../sites/index.ts";
import type { TlsDeps } from "./deps.ts";
import { normalizeHost } from "../http/host.ts";
import { pathStart } from "../serve/http.ts";
import type { CertificateManager } from "./manager.ts";
import { HttpMetrics, ADMIN, SITE, UNKNOWN } from "../metrics/index.ts";
import type { Fetch } from "../http/fetch.ts";
import { challengeAnswer } from "./challenges.ts";

const CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

/**
 * The HTTP-01 answer for a token, from the database, so any process on it can
 * answer a challenge another process's order is waiting on.
 */
function answerChallenge(app: TlsDeps, req: Request, token: string): Response {
  const host = normalizeHost(req.headers.get("host"));
  const answer = challengeAnswer(app.store, token, host);
  if (answer === null) return new Response("no such challenge\n", { status: 404, headers: { "content-type": "text/plain" } });
  return new Response(answer, { headers: { "content-type": "application/octet-stream" } });
}

/** The plain HTTP listener: challenges first, then 308 to HTTPS for hosts that have a certificate. */
export function plainHttpFront(app: TlsDeps, manager: CertificateManager | null, httpsPort: () => number, inner: Fetch): Fetch {
  // The same series createFetch counts into: answers given here are requests too.
  const metrics = new HttpMetrics(app.metrics);
  const hostClass = (host: string) => (app.routes.isAdminHost(host) ? ADMIN : app.routes.lookup(host) ? SITE : UNKNOWN);
  return (req, server) => {
    const url = req.url;
    const start = pathStart(url);
    if (url.startsWith(CHALLENGE_PREFIX, start)) {
      const challenge = answerChallenge(app, req, url.slice(start + CHALLENGE_PREFIX.length).split(/[?#]/)[0]!);
      metrics.count(hostClass(normalizeHost(req.headers.get("host"))), challenge.status);
      return challenge;
    }
    if (manager) {
      const host = normalizeHost(req.headers.get("host"));
      if (manager.hasCertificate(host)) {
        const port = httpsPort();
        const target = `https://${host}${port === 443 ? "" : `:${port}`}${url.slice(start)}`;
        metrics.count(hostClass(host), 308);
        return new Response(null, { status: 308, headers: { location: target } });
      }
      manager.requested(host);
    }
    return inner(req, server);
  };
}

/** Per-site HSTS, from the site's settings (`hsts: {max_age, include_subdomains}`). */
export class HstsPolicy {
  private bySite = new Map<number, string>();

  constructor(private readonly app: TlsDeps) {
    this.reload();
  }

  reload(): void {
    const next = new Map<number, string>();
    for (const site of siteSummaries(this.app.store)) {
      const hsts = site.settings.hsts;
      if (hsts) next.set(site.id, `max-age=${hsts.maxAge}${hsts.includeSubdomains ? "; includeSubDomains" : ""}`);
    }
    this.bySite = next;
  }

  header(host: string): string | undefined {
    if (this.bySite.size === 0) return undefined;
    const route = this.app.routes.lookup(host);
    return route ? this.bySite.get(route.siteId) : undefined;
  }
}

/** The TLS listener: on-demand ordering for owned hosts, HSTS where a site asks for it. */
export function httpsFront(manager: CertificateManager, hsts: HstsPolicy, inner: Fetch): Fetch {
  return (req, server) => {
    const host = normalizeHost(req.headers.get("host"));
    manager.requested(host);
    const header = hsts.header(host);
    if (!header) return inner(req, server);
    const withHeader = (res: Response) => {
      res.headers.set("strict-transport-security", header);
      return res;
    };
    const res = inner(req, server);
    return res instanceof Promise ? res.then(withHeader) : withHeader(res);
  };
}
