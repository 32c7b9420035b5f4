// GET /api/backup: a consistent snapshot of the live database, streamed (admin).
import type { ApiDeps } from "./deps.ts";
import { openSnapshot } from "../db/snapshot.ts";
import { HttpError } from "../http/errors.ts";
import { log } from "../log/index.ts";
import { adminRoutes } from "./route.ts";

// Each backup pins a WAL snapshot (checkpoints wait behind it): one at a time.
const MAX_RUNNING = 1;
// A backup is background work: paced so requests keep their speed (bench/backup.ts); 1 GiB takes ~32 s.
const BACKUP_BYTES_PER_SECOND = 32 * 1024 * 1024;

export function backupApi(app: ApiDeps) {
  let running = 0;
  const stream = async (request: Request): Promise<Response> => {
    if (running >= MAX_RUNNING) throw new HttpError(429, "backup_running", `at most ${MAX_RUNNING} backup streams at a time; retry later`);
    running++;
    let released = false;
    const release = () => {
      if (!released) (released = true), running--;
    };
    const started = performance.now();
    let bytes = 0;
    const done = (complete: boolean) => {
      release();
      const fields = { bytes, ms: Math.round(performance.now() - started) };
      if (complete) log.info("backup streamed", fields);
      else log.warn("backup ended before its last page (client gone or read failed)", fields);
    };
    const snap = await openSnapshot(app.store.path, { onClose: done, maxBytesPerSecond: BACKUP_BYTES_PER_SECOND }).catch((err) => {
      release();
      throw err;
    });
    bytes = snap.bytes;
    log.debug("backup started", { pages: snap.pageCount, page_size: snap.pageSize, wal_frames: snap.walFrames });
    request.signal.addEventListener("abort", () => snap.close());
    const stamp = new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "");
    return new Response(snap.stream(), {
      headers: {
        "content-type": "application/vnd.sqlite3",
        // Bun sends a streamed body chunked (it drops Content-Length): the size travels in its own header.
        "x-fazt-snapshot-bytes": String(snap.bytes),
        "content-disposition": `attachment; filename="fazt-${stamp}Z.db"`,
        "cache-control": "no-store",
      },
    });
  };
  return [adminRoutes().get("/api/backup", ({ request }) => stream(request))];
}
