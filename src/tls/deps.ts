// What automatic HTTPS uses of the running server (server/TlsDeps provides it).
import type { Store } from "../db/index.ts";
import type { ServerConfig } from "../core/config.ts";
import type { Registry } from "../metrics/registry.ts";
import type { RoutingTable } from "../serve/routes.ts";

export interface TlsDeps {
  readonly store: Store;
  readonly config: Readonly<ServerConfig>;
  readonly metrics: Registry;
  readonly routes: RoutingTable;
  onSitesChanged(fn: () => void): void;
  onShutdown(fn: () => Promise<void> | void): void;
}
