import type { ApiDeps } from "./deps.ts";
import { BUILT_AT, COMMIT, VERSION } from "../core/version.ts";
import { publicRoutes } from "./route.ts";

const started = Date.now();

export function healthApi(app: ApiDeps) {
  return [
    publicRoutes().get("/api/health", () => {
      app.store.read.query("SELECT 1").get();
      return { ok: true, version: VERSION, commit: COMMIT, built_at: BUILT_AT, uptime_s: Math.round((Date.now() - started) / 1000) };
    }),
  ];
}
