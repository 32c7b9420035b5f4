import type { ApiDeps } from "./deps.ts";
import { VERSION } from "../core/version.ts";
import { publicRoutes } from "./route.ts";

const started = Date.now();

export function healthApi(app: ApiDeps) {
  return [
    publicRoutes().get("/api/health", () => {
      app.store.read.query("SELECT 1").get();
      return { ok: true, version: VERSION, uptime_s: Math.round((Date.now() - started) / 1000) };
    }),
  ];
}
