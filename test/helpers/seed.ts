// Seed a database with a site and a live deploy straight through the VFS
// (before a server starts), for tests that need a site to serve.
import { Store } from "../../src/db/index.ts";
import { createSite } from "../../src/sites/index.ts";
import { putContent } from "../../src/vfs/content.ts";
import { createDeploy } from "../../src/vfs/deploys.ts";

export function seedSite(dbPath: string, name: string, files: Record<string, string>): { siteId: number; deployId: string } {
  const store = Store.open(dbPath);
  try {
    const site = createSite(store, name);
    const entries = store.tx(() =>
      Object.entries(files).map(([path, text]) => {
        const bytes = new TextEncoder().encode(text);
        const blob = putContent(store, bytes);
        const mime = path.endsWith(".css") ? "text/css" : "text/html; charset=utf-8";
        return { path, blobId: blob.blobId, size: blob.size, mime };
      }),
    );
    const deploy = createDeploy(store, site.id, entries, { activate: true });
    return { siteId: site.id, deployId: deploy.id };
  } finally {
    store.close();
  }
}
