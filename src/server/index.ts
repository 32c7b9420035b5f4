// Starting and stopping a Fazt server: the database, the listeners and the
// background workers, with a graceful shutdown.
import type { Server } from "bun";
import { Store } from "../db/index.ts";
import { App } from "../core/app.ts";
import { formatAddress, type ServerConfig } from "../core/config.ts";
import { createApi } from "../api/index.ts";
import { VfsReader } from "../vfs/read.ts";
import { SiteHandler, notFound } from "../serve/handler.ts";
import { VariantMaker } from "../vfs/variants.ts";
import { setClientIp } from "./client-ip.ts";
import { createToken, hasAdminToken } from "../auth/tokens.ts";
import { log } from "../log/index.ts";
import { drain } from "./drain.ts";
import { startHttps, plainHttpFront, type Https } from "../tls/index.ts";
import { startAnalytics, forwardedClient } from "../analytics/index.ts";
import { HttpMetrics, SITE, ADMIN, UNKNOWN } from "../metrics/http.ts";
import { trackEventLoop } from "../metrics/event-loop.ts";

function onError(err: Error): Response {
  log.error("request failed", { err });
  return new Response("internal error\n", { status: 500 });
}

export interface RunningServer {
  app: App;
  httpPort: number | null;
  httpsPort: number | null;
  /** The first admin token when this start created it (printed once). */
  createdToken: string | null;
  stop(): Promise<void>;
}

export function createFetch(app: App): (req: Request, server: Server<undefined>) => Response | Promise<Response> {
  const api = createApi(app);
  const sites = new SiteHandler(new VfsReader(app.store));
  app.onSitesChanged(() => sites.invalidate());
  app.onContentChanged(() => sites.invalidate());
  const routes = app.routes;
  const metrics = new HttpMetrics(app.metrics);
  const cacheBytes = app.metrics.gauge("fazt_serve_cache_bytes", "Bytes charged to the site response caches (keys included).", ["cache"]);
  const cacheEntries = app.metrics.gauge("fazt_serve_cache_entries", "Entries in the site response caches.", ["cache"]);
  app.metrics.onCollect(() => {
    for (const c of sites.cacheStats()) {
      cacheBytes.labels(c.cache).set(c.bytes);
      cacheEntries.labels(c.cache).set(c.entries);
    }
  });
  const analytics = startAnalytics(app);
  const trustProxy = app.config.trustProxy;
  return (req, server) => {
    const target = routes.forHost(req.headers.get("host"));
    if (target === "admin") {
      setClientIp(req, server.requestIP(req)?.address ?? "unknown");
      // A deploy upload may be processed for a while after its last byte: Bun's 10 s idle timeout would cut it.
      if (req.method === "POST" || req.method === "PUT") server.timeout(req, 255);
      return after(api(req), (res) => metrics.count(ADMIN, res.status));
    }
    if (!target) return after(notFound(), (res) => metrics.count(UNKNOWN, res.status));
    const res = sites.handle(req, target); // synchronous: no closure per request on the hot path
    metrics.count(SITE, res.status);
    if (analytics) {
      const ip = (trustProxy ? forwardedClient(req) : null) ?? server.requestIP(req)?.address ?? "";
      analytics.record(req, res.status, sites.bytes, ip, target.host, target.siteId);
    }
    return res;
  };
}

/** Run fn on the response once it exists (counting and analytics happen after the handler). */
function after(res: Response | Promise<Response>, fn: (res: Response) => void): Response | Promise<Response> {
  if (res instanceof Promise) return res.then((r) => (fn(r), r));
  fn(res);
  return res;
}

export async function startServer(config: ServerConfig): Promise<RunningServer> {
  const store = Store.open(config.dbPath);
  const app = new App(store, config);
  app.onShutdown(() => store.close());
  app.gc.dropStreamUploads();
  app.onShutdown(() => app.gc.stop());
  app.gc.schedule();
  let createdToken: string | null = null;
  if (!hasAdminToken(store)) createdToken = createToken(store, { label: "first admin" });

  const fetch = createFetch(app);
  app.onShutdown(trackEventLoop(app.metrics));
  const variants = new VariantMaker(store, () => app.contentChanged());
  variants.start();
  app.onShutdown(() => variants.stop());
  // Deploy uploads are streamed and limited by the deploy code (413 naming the limit), not here.
  const maxRequestBodySize = config.limits.maxDeployBytes + config.limits.maxFiles * 2048 + 16 * 1024 * 1024;
  let https: Https | null = null;
  if (config.https) {
    try {
      https = await startHttps(app, fetch, { error: onError, maxRequestBodySize });
    } catch (err) {
      await app.shutdown();
      throw new Error(`cannot start HTTPS on ${formatAddress(config.https)}: ${(err as Error).message}`);
    }
  }
  let http: Server<undefined> | null = null;
  if (config.http) {
    try {
      http = Bun.serve({
        hostname: config.http.hostname,
        port: config.http.port,
        fetch: plainHttpFront(app, https?.manager ?? null, () => https?.listener.port ?? 443, fetch),
        maxRequestBodySize,
        error: onError,
      });
    } catch (err) {
      await app.shutdown();
      throw new Error(`cannot listen on ${formatAddress(config.http)}: ${(err as Error).message}`);
    }
  }
  // Orders start once the HTTP listener can answer their challenges.
  https?.run();

  // Listening on port 0 picks a free port: URLs must name the real one.
  if (http && config.http) config.http = { ...config.http, port: http.port ?? config.http.port };
  if (https && config.https) config.https = { ...config.https, port: https.listener.port };
  let stopped = false;
  return {
    app,
    httpPort: http?.port ?? null,
    httpsPort: https?.listener.port ?? null,
    createdToken,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (http) await drain(http);
      await app.shutdown();
    },
  };
}
