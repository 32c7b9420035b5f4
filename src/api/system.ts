// GET /api/system: what an operator checks on the System screen and
// /api/health does not say: uptime, database and WAL size, memory,
// certificates that need attention, the last warnings and errors logged.
import { statSync } from "node:fs";
import type { ApiDeps } from "./deps.ts";
import { VERSION } from "../core/version.ts";
import { listCertificates } from "../tls/status.ts";
import { recentProblems } from "../log/index.ts";
import { adminRoutes } from "./route.ts";

const started = Date.now();
/** A certificate this close to expiry is listed as a problem (ACME renews at 30 days left). */
const EXPIRY_WARNING_MS = 21 * 24 * 3600_000;

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

export function systemApi(app: ApiDeps) {
  return [
    adminRoutes().get("/api/system", () => {
      const db = app.store.path;
      const mem = process.memoryUsage();
      const soon = Date.now() + EXPIRY_WARNING_MS;
      const problems = listCertificates(app.store).filter(
        (c) => c.state !== "valid" || (c.not_after !== null && Date.parse(c.not_after) < soon),
      );
      return {
        version: VERSION,
        bun: Bun.version,
        started_at: new Date(started).toISOString(),
        uptime_s: Math.round((Date.now() - started) / 1000),
        database: { path: db, bytes: fileSize(db), wal_bytes: fileSize(`${db}-wal`) },
        memory: { rss: mem.rss, heap_used: mem.heapUsed, heap_total: mem.heapTotal },
        certificate_problems: problems,
        recent_errors: recentProblems.list(),
      };
    }),
  ];
}
