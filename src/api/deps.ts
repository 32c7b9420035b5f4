// What the API uses of the running server (server/App provides it).
import type { Store } from "../db/index.ts";
import type { ServerConfig } from "../core/config.ts";
import type { Registry } from "../metrics/registry.ts";
import type { GarbageCollector } from "../vfs/gc.ts";
import type { DeployEvents } from "../vfs/events.ts";

export interface ApiDeps {
  readonly store: Store;
  readonly config: Readonly<ServerConfig>;
  readonly metrics: Registry;
  readonly gc: GarbageCollector;
  /** Deploys announce themselves here once committed; the server's caches listen. */
  readonly deploys: DeployEvents;
  /** The public URL of a site, or of one deploy's preview. */
  siteUrl(siteName: string, deployId?: string): string;
  /** Sites, domains, settings or live deploys changed: routing and caches reload. */
  sitesChanged(): void;
  /** Mail was queued or received: the mail workers look for work at once. */
  mailChanged(): void;
  onMailChanged(fn: () => void): void;
  onShutdown(fn: () => Promise<void> | void): void;
}
