// Starting and stopping a Fazt server: the database, the listeners and the
// background workers, with a graceful shutdown.
import type { Server } from "bun";
import { Store } from "../db/index.ts";
import { App } from "../core/app.ts";
import { formatAddress, type ServerConfig } from "../core/config.ts";
import { createApi } from "../api/index.ts";
import { VfsReader } from "../vfs/read.ts";
import { SiteHandler, notFound } from "../serve/handler.ts";
import { normalizeHost } from "../serve/host.ts";
import { setClientIp } from "./client-ip.ts";
import { createToken, hasAdminToken } from "../auth/tokens.ts";
import { log } from "../log/index.ts";
import { drain } from "./drain.ts";
import { startHttps, plainHttpFront, type Https } from "../tls/index.ts";

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
  const routes = app.routes;
  return (req, server) => {
    const host = normalizeHost(req.headers.get("host"));
    if (routes.isAdminHost(host)) {
      setClientIp(req, server.requestIP(req)?.address ?? "unknown");
      return api(req);
    }
    const route = routes.lookup(host);
    return route ? sites.handle(req, route) : notFound();
  };
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
