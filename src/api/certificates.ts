// GET /api/certificates: every certificate, its state and last error.
import type { ApiDeps } from "./deps.ts";
import { listCertificates } from "../tls/status.ts";
import { adminRoutes } from "./route.ts";

export function certificateApi(app: ApiDeps) {
  return [adminRoutes().get("/api/certificates", () => ({ certificates: listCertificates(app.store) }))];
}
