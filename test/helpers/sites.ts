// Seed sites and deploys straight into a database file (before a server
// starts on it), through createDeploy: the one-transaction form of what the
// server writes in slices (writeDeploy).
import mime from "mime";
import { Store } from "../../src/db/index.ts";
import { createSite, findSite } from "../../src/sites/index.ts";
import { putContent } from "../../src/vfs/content.ts";
import { createDeploy, type DeployInfo } from "../../src/vfs/deploys.ts";

export type Files = Record<string, string | Uint8Array>;

export function seedDeploy(
  db: string,
  site: string,
  files: Files,
  opts: { activate?: boolean; domains?: string[]; settings?: object } = {},
): DeployInfo {
  const store = Store.open(db);
  try {
    const s = findSite(store, site) ?? createSite(store, site, opts.domains ?? []);
    if (opts.settings) store.write.query("UPDATE sites SET settings = ? WHERE id = ?").run(JSON.stringify(opts.settings), s.id);
    const entries = store.tx(() =>
      Object.entries(files).map(([path, content]) => {
        const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
        const ref = putContent(store, bytes);
        return { path, blobId: ref.blobId, size: ref.size, mime: mime.getType(path) ?? "application/octet-stream" };
      }),
    );
    return createDeploy(store, s.id, entries, { activate: opts.activate ?? true });
  } finally {
    store.close();
  }
}
