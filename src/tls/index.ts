// Automatic HTTPS: the pieces wired together for `fazt serve --https`.
import { readFileSync } from "node:fs";
import type { TlsDeps } from "./deps.ts";
import { CertStorage } from "./storage.ts";
import { Locks, DEFAULT_LOCK_TTL_MS } from "./locks.ts";
import { AcmeIssuer } from "./acme.ts";
import { CertificateManager } from "./manager.ts";
import { TlsListener, type ListenerOptions } from "./listener.ts";
import { HstsPolicy, httpsFront } from "./front.ts";
import { log } from "../log/index.ts";
import { registerCertMetrics } from "./status.ts";
import type { Fetch } from "../http/fetch.ts";

export { plainHttpFront } from "./front.ts";
export { listCertificates } from "./status.ts";
export type { CertificateManager } from "./manager.ts";

export interface Https {
  manager: CertificateManager;
  listener: TlsListener;
  /** Start ordering and renewing (once the HTTP listener can answer challenges). */
  run(): void;
}

function envMs(name: string, fallback: number): number {
  const n = Number(process.env[name]);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** Bind the TLS listener with what the database holds; ordering starts with run(). */
export async function startHttps(app: TlsDeps, inner: Fetch, opts: ListenerOptions): Promise<Https> {
  const config = app.config;
  let caRoot: string | null = null;
  if (config.acmeCaRoot) {
    try {
      caRoot = readFileSync(config.acmeCaRoot, "utf8");
    } catch (e) {
      throw new Error(`--acme-ca-root: cannot read ${config.acmeCaRoot}: ${(e as Error).message}`);
    }
    if (!caRoot.includes("-----BEGIN CERTIFICATE-----")) throw new Error(`--acme-ca-root: ${config.acmeCaRoot} holds no PEM certificate`);
  }
  if (!config.http) {
    log.warn("HTTPS without an HTTP listener: HTTP-01 challenges are answered only by another fazt on this database");
  }
  const storage = new CertStorage(app.store);
  // Hidden knobs for tests: a short lock expiry and a fast check loop.
  const locks = new Locks(app.store, envMs("FAZT_ACME_LOCK_TTL_MS", DEFAULT_LOCK_TTL_MS));
  const issuer = new AcmeIssuer(app.store, storage, locks, { directory: config.acmeDirectory, email: config.acmeEmail, caRoot });
  const manager = new CertificateManager(app, issuer, storage, locks, {
    checkIntervalMs: envMs("FAZT_ACME_CHECK_MS", 60_000),
    concurrency: 4,
  });
  await manager.load();
  registerCertMetrics(app);
  const hsts = new HstsPolicy(app);
  const listener = new TlsListener(config.https!, httpsFront(manager, hsts, inner), opts);
  listener.start(manager.tlsEntries());
  manager.onChange(() => void listener.update(manager.tlsEntries()));
  app.onSitesChanged(() => {
    hsts.reload();
    manager.sitesChanged();
  });
  app.onShutdown(async () => {
    manager.stop();
    await listener.stop();
  });
  return { manager, listener, run: () => manager.start() };
}
