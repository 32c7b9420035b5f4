// The wiring of a running server: the store, config, routing table, GC, metrics,
// change and shutdown hooks. Components take the narrow part they use (ApiDeps, TlsDeps, AnalyticsDeps).
import type { Store } from "../db/index.ts";
import { RoutingTable } from "../serve/routes.ts";
import { Registry } from "../metrics/registry.ts";
import type { ServerConfig } from "../core/config.ts";
import { GarbageCollector } from "../vfs/gc.ts";
import { DeployEvents } from "../vfs/events.ts";
import { systemClock, type Clock } from "../core/clock.ts";

type Listener = () => void;

export class App {
  readonly routes: RoutingTable;
  /** Background removal of content no deploy needs (see vfs/gc.ts). */
  readonly gc: GarbageCollector;
  /** Committed deploys; a new live deploy reloads routing and the serving caches. */
  readonly deploys = new DeployEvents();
  /** Prometheus metrics (GET /metrics); every part registers its own. */
  readonly metrics = new Registry();
  private siteListeners: Listener[] = [];
  private contentListeners: Listener[] = [];
  private mailListeners: Listener[] = [];
  private shutdownHooks: (() => Promise<void> | void)[] = [];
  /** The ports really listened on (port 0 in the config picks a free one). */
  private ports: { http: number | null; https: number | null };

  constructor(
    readonly store: Store,
    readonly config: ServerConfig,
    /** The time routing stamps on deploys made live (their Last-Modified floor); tests move it instead of sleeping. */
    clock: Clock = systemClock,
  ) {
    this.ports = { http: config.http?.port ?? null, https: config.https?.port ?? null };
    this.routes = new RoutingTable(store, config.domain, clock);
    this.gc = new GarbageCollector(store);
    this.deploys.on((e) => {
      if (e.live) this.sitesChanged();
    });
  }

  listening(ports: { http: number | null; https: number | null }): void {
    this.ports = ports;
  }

  /** Called after any change to sites, domains or live deploys. */
  onSitesChanged(fn: Listener): void {
    this.siteListeners.push(fn);
  }

  sitesChanged(): void {
    this.routes.reload();
    for (const fn of this.siteListeners) fn();
  }

  /** Called when stored content changed under live deploys (precompressed variants made). */
  onContentChanged(fn: Listener): void {
    this.contentListeners.push(fn);
  }

  contentChanged(): void {
    for (const fn of this.contentListeners) fn();
  }

  /** Called when mail was queued or received (the mail workers look for work at once). */
  onMailChanged(fn: Listener): void {
    this.mailListeners.push(fn);
  }

  mailChanged(): void {
    for (const fn of this.mailListeners) fn();
  }

  /** The public URL of a site (or of one deploy's preview). */
  siteUrl(siteName: string, deployId?: string): string {
    // Previews stay on plain HTTP: a certificate per deploy would exhaust the CA's rate limits.
    const https = this.config.https !== null && this.config.domain !== null && deployId === undefined;
    const port = https ? this.ports.https : this.ports.http;
    return this.routes.siteUrl(siteName, https ? "https" : "http", port, deployId);
  }

  /** Registered hooks run in reverse order on shutdown (flush, then close). */
  onShutdown(fn: () => Promise<void> | void): void {
    this.shutdownHooks.push(fn);
  }

  async shutdown(): Promise<void> {
    const hooks = this.shutdownHooks.reverse();
    this.shutdownHooks = [];
    for (const fn of hooks) await fn();
  }
}
