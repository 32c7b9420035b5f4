// Deploys are immutable manifests (path -> blob). A site's live deploy is one
// column; switching it is one UPDATE, so readers see old or new, never a mix.
import type { Store } from "../db/index.ts";
import { randomId } from "../core/ids.ts";

export interface ManifestEntry {
  path: string; // "/index.html"
  blobId: number;
  size: number;
  mime: string;
}

export interface DeployInfo {
  id: string;
  siteId: number;
  files: number;
  bytes: number;
  createdAt: number;
}

export function createDeploy(
  store: Store,
  siteId: number,
  entries: readonly ManifestEntry[],
  opts: { activate: boolean; config?: unknown },
): DeployInfo {
  return store.tx(() => {
    const id = randomId(10);
    const bytes = entries.reduce((n, e) => n + e.size, 0);
    const createdAt = Date.now();
    store.write
      .query("INSERT INTO deploys (id, site_id, files, bytes, config, created_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(id, siteId, entries.length, bytes, JSON.stringify(opts.config ?? {}), createdAt);
    const add = store.write.query("INSERT INTO deploy_files (deploy_id, path, blob_id, size, mime) VALUES (?, ?, ?, ?, ?)");
    for (const e of entries) add.run(id, e.path, e.blobId, e.size, e.mime);
    if (opts.activate) activateDeploy(store, siteId, id);
    return { id, siteId, files: entries.length, bytes, createdAt };
  });
}

/** Make a deploy live. Throws when the deploy is not the site's. */
export function activateDeploy(store: Store, siteId: number, deployId: string): void {
  const changed = store.write
    .query("UPDATE sites SET live_deploy_id = ?1 WHERE id = ?2 AND EXISTS (SELECT 1 FROM deploys WHERE id = ?1 AND site_id = ?2)")
    .run(deployId, siteId);
  if (changed.changes !== 1) throw new Error(`deploy ${deployId} does not belong to site ${siteId}`);
}
