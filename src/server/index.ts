// Starting and stopping a Fazt server: the database, the listeners and the
// background workers, with a graceful shutdown.
import type { Server } from "bun";
import { Store } from "../db/index.ts";
import { App } from "./app.ts";
import { formatAddress, type ServerConfig } from "../core/config.ts";
import { createApi } from "../api/index.ts";
import { createUi } from "../ui/index.ts";
import { VfsReader } from "../vfs/read.ts";
import { DEFAULT_CACHE_BYTES, SiteHandler, notFound } from "../serve/handler.ts";
import { LOGIN_PATH, Protection } from "../serve/protect.ts";
import { VariantMaker } from "../vfs/variants.ts";
import { decideOlderDeploys } from "../vfs/deploys.ts";
import { attachClient, clientAddress } from "../http/client.ts";
import { createToken, hasAdminToken, verifyToken } from "../auth/tokens.ts";
import { log } from "../log/index.ts";
import { drain } from "../http/drain.ts";
import { startHttps, plainHttpFront, type Https } from "../tls/index.ts";
import { startAnalytics } from "../analytics/index.ts";
import { HttpMetrics, ADMIN, UNKNOWN } from "../metrics/http.ts";
import { registerProcessMetrics } from "../metrics/process.ts";
import { AccessLog } from "../log/access.ts";
import { pathStart } from "../serve/http.ts";
import { listSites } from "../sites/index.ts";
import { watchEventLoop } from "../metrics/event-loop.ts";
import { startMail } from "../mail/index.ts";
import { FORMS_PREFIX, FormReceiver } from "../forms/index.ts";
import { CertStorage } from "../tls/storage.ts";
import { defaultCertificate } from "../tls/selfsigned.ts";
import type { Clock } from "../core/clock.ts";

function onError(err: Error): Response {
  log.error("request failed", { err });
  return new Response("internal error\n", { status: 500 });
}

interface RunningServer {
  app: App;
  httpPort: number | null;
  httpsPort: number | null;
  smtpPort: number | null;
  /** The first admin token when this start created it (printed once). */
  createdToken: string | null;
  stop(): Promise<void>;
}

function createFetch(app: App): (req: Request, server: Server<undefined>) => Response | Promise<Response> {
  const api = createApi(app);
  const ui = createUi();
  const trustProxy = app.config.trustProxy;
  const protection = new Protection({
    tokenOpens: (token, siteId) => {
      const scope = verifyToken(app.store, token);
      return scope !== null && (scope.siteId === null || scope.siteId === siteId);
    },
    client: (req, server) => (server ? clientAddress(req, server, trustProxy) : "unknown"),
  });
  const sites = new SiteHandler(new VfsReader(app.store), DEFAULT_CACHE_BYTES, protection);
  app.onSitesChanged(() => sites.invalidate());
  app.onContentChanged(() => sites.invalidate());
  const routes = app.routes;
  const metrics = new HttpMetrics(app.metrics);
  const siteSeries = () => metrics.setSites(listSites(app.store));
  siteSeries();
  app.onSitesChanged(siteSeries);
  registerCacheMetrics(app, sites);
  const analytics = startAnalytics(app);
  const access = startAccessLog(app);
  const forms = new FormReceiver(app);
  return (req, server) => {
    const started = access ? performance.now() : 0;
    const target = routes.forHost(req.headers.get("host"));
    if (target === "admin") {
      const client = clientAddress(req, server, trustProxy);
      attachClient(req, client);
      // A deploy upload may be processed for a while after its last byte: Bun's 10 s idle timeout would cut it.
      if (req.method === "POST" || req.method === "PUT") server.timeout(req, 255);
      return after(ui(req) ?? api(req), (res) => {
        metrics.count(ADMIN, res.status);
        if (access) logAccess(access, req, res, started, client);
      });
    }
    if (!target) {
      return after(notFound(), (res) => {
        metrics.count(UNKNOWN, res.status);
        if (access) logAccess(access, req, res, started, clientAddress(req, server, trustProxy));
      });
    }
    // The reserved form path, before the site's files and rules: no deploy can shadow it. GET and HEAD pay one compare.
    if (req.method === "POST") {
      const start = pathStart(req.url);
      if (req.url.startsWith(LOGIN_PATH, start) && req.url.length === start + LOGIN_PATH.length) {
        return after(sites.login(req, target, server), (res) => {
          metrics.countSite(target.siteId, target.siteName, res.status, 0);
          if (access) logAccess(access, req, res, started, clientAddress(req, server, trustProxy));
        });
      }
      if (req.url.startsWith(FORMS_PREFIX, start)) {
        const client = clientAddress(req, server, trustProxy);
        return after(forms.handle(req, target, client, start), (res) => {
          metrics.countSite(target.siteId, target.siteName, res.status, 0);
          if (access) logAccess(access, req, res, started, client);
        });
      }
    }
    // Synchronous: no closure per request on the hot path; `served` is read before the next request.
    const served = sites.handle(req, target, server);
    if (served.pending !== null) {
      return served.pending.then((s) => {
        metrics.countSite(target.siteId, target.siteName, s.status, s.bytes);
        if (analytics)
          analytics.record({
            req,
            server,
            siteId: target.siteId,
            host: target.host,
            status: s.status,
            bytes: s.bytes,
            pathClass: s.pathClass,
          });
        if (access) logAccess(access, req, s.response, started, clientAddress(req, server, trustProxy), s.bytes);
        return s.response;
      });
    }
    const { response, status, bytes, pathClass } = served;
    metrics.countSite(target.siteId, target.siteName, status, bytes);
    if (analytics) analytics.record({ req, server, siteId: target.siteId, host: target.host, status, bytes, pathClass });
    // The access log wants every request's address; analytics looks it up only for documents.
    if (access) logAccess(access, req, response, started, clientAddress(req, server, trustProxy), bytes);
    return response;
  };
}

function startAccessLog(app: App): AccessLog | null {
  if (!app.config.accessLog) return null;
  const access = new AccessLog();
  const dropped = app.metrics.counter("fazt_access_log_dropped_total", "Access log lines dropped because the buffer was full.").labels();
  const buffered = app.metrics.gauge("fazt_access_log_buffered_bytes", "Estimated bytes of access log records not yet written.").labels();
  app.metrics.onCollect(() => {
    dropped.value = access.dropped;
    buffered.set(access.bufferedBytes);
  });
  app.onShutdown(() => access.stop());
  return access;
}

function logAccess(access: AccessLog, req: Request, res: Response, started: number, client: string, bytes?: number): void {
  const url = req.url;
  access.record({
    time: Date.now(),
    host: req.headers.get("host") ?? "",
    method: req.method,
    path: url.slice(pathStart(url)),
    status: res.status,
    bytes: bytes ?? (Number(res.headers.get("content-length")) || 0),
    duration: performance.now() - started,
    client,
  });
}

function registerCacheMetrics(app: App, sites: SiteHandler): void {
  const m = app.metrics;
  const hits = m.counter("fazt_cache_hits_total", "Site requests whose answer was in the response cache.").labels();
  const misses = m.counter("fazt_cache_misses_total", "Site requests resolved from the database (then kept if they fit).").labels();
  const bytes = m.gauge("fazt_cache_bytes", "Bytes held by the response cache (bounded).").labels();
  const entries = m.gauge("fazt_cache_entries", "Entries in the response cache.").labels();
  const missBytes = m.gauge("fazt_miss_cache_bytes", "Bytes held by the cache of answers to arbitrary paths (bounded).").labels();
  const missEntries = m.gauge("fazt_miss_cache_entries", "Entries in the cache of answers to arbitrary paths.").labels();
  m.onCollect(() => {
    const c = sites.cacheStats();
    hits.value = c.hits;
    misses.value = c.misses;
    bytes.set(c.bytes);
    entries.set(c.entries);
    missBytes.set(c.missBytes);
    missEntries.set(c.missEntries);
  });
}

/** Run fn on the response once it exists (counting and analytics happen after the handler). */
function after(res: Response | Promise<Response>, fn: (res: Response) => void): Response | Promise<Response> {
  if (res instanceof Promise) return res.then((r) => (fn(r), r));
  fn(res);
  return res;
}

interface StartOptions {
  /** The clock routing reads (see App); the system clock unless an in-process test passes its own. */
  clock?: Clock;
}

export async function startServer(config: ServerConfig, opts: StartOptions = {}): Promise<RunningServer> {
  const store = Store.open(config.dbPath, { warn: (message) => log.warn(message) });
  if (store.autoVacuum === "vacuumed") log.info("database rewritten once so that freed space is given back (incremental auto-vacuum)");
  if (store.autoVacuum === "busy")
    log.warn("database in use by another process: its conversion to incremental auto-vacuum waits for a later start");
  const app = new App(store, config, opts.clock);
  app.onShutdown(() => store.close());
  const decided = decideOlderDeploys(store);
  if (decided > 0) log.info("fingerprinted files decided for deploys made before decisions were stored", { deploys: decided });
  app.gc.dropStreamUploads();
  app.onShutdown(() => app.gc.stop());
  app.gc.schedule();
  app.onShutdown(watchEventLoop(app.metrics));

  const fetch = createFetch(app);
  const variants = new VariantMaker(store, () => app.contentChanged(), app.deploys);
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
  let smtpPort: number | null = null;
  try {
    const certs = new CertStorage(store);
    smtpPort = await startMail(app, {
      certificateFor: (name) => certs.loadCertificate(name),
      defaultCertificate: () => defaultCertificate(certs),
    });
  } catch (err) {
    if (http) await drain(http);
    await app.shutdown();
    throw err;
  }
  // Listening on port 0 picks a free port: URLs must name the real one.
  app.listening({ http: http?.port ?? null, https: https?.listener.port ?? null });
  // Orders start once the HTTP listener can answer their challenges.
  https?.run();
  // Only now that the listeners are up: a start that cannot bind must not create a token nobody sees.
  const createdToken = hasAdminToken(store) ? null : createToken(store, { label: "first admin" });
  registerProcessMetrics(app.metrics, store.path);
  const inFlight = app.metrics.gauge("fazt_http_in_flight_requests", "Requests being answered (bodies still streaming included).").labels();
  app.metrics.onCollect(() => inFlight.set((http?.pendingRequests ?? 0) + (https?.listener.pendingRequests ?? 0)));

  let stopped = false;
  return {
    app,
    httpPort: http?.port ?? null,
    httpsPort: https?.listener.port ?? null,
    smtpPort,
    createdToken,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (http) await drain(http);
      await app.shutdown();
    },
  };
}
