// GET /api/certificates: every certificate, its state and last error.
import type { App } from "../core/app.ts";
import { listCertificates } from "../tls/status.ts";
import { adminRoutes } from "./route.ts";

export function certificateApi(app: App) {
  return [adminRoutes().get("/api/certificates", () => ({ certificates: listCertificates(app.store.read) }))];
}
