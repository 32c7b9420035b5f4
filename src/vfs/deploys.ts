// Deploys are immutable manifests (path -> blob). A site's live deploy is one
// column; switching it is one UPDATE, so readers see old or new, never a mix.
import type { Store } from "../db/index.ts";
import { randomId } from "../core/ids.ts";
import { VfsError } from "./errors.ts";
import { deployRules } from "./rules.ts";
import { readBlobBytes } from "./read.ts";
import type { DeployEvents } from "./events.ts";
import { declaredForms } from "./form-names.ts";
import { immutableFiles, type PreviousFile } from "./fingerprints.ts";

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
  /** When it was last made live; null: never live (a preview). */
  activatedAt: number | null;
  /** Who made it ("user NAME", "token ID"); null for deploys older than migration 0013. */
  createdBy: string | null;
}

interface CreateDeployOptions {
  activate: boolean;
  config?: unknown;
  /** The upload whose content this deploy now references; it ends in the same transaction. */
  uploadId?: string;
  /** Keep this many newest deploys of the site (and always the live one). */
  keepDeploys?: number;
  /** Who makes it (shown in the deploy history). */
  createdBy?: string;
  /** The site's host names: the only ones a `_headers` cookie may name as Domain. */
  hosts?: readonly string[];
  /** Told once the deploy is committed (the server's listeners); none in local tools. */
  events?: DeployEvents;
  /** The forms its HTML declares, found beforehand without holding the event loop (declaredFormsInSlices); scanned here otherwise. */
  forms?: readonly string[];
}

/**
 * THE one way a manifest is written (archive upload, single-file PUT,
 * incremental commit): one transaction writes the deploy, ends its upload,
 * optionally makes it live and prunes old deploys. `_redirects` and
 * `_headers` are parsed first: a malformed line throws a RulesError (400)
 * naming it, and nothing is written. Forms declared in the HTML
 * (`data-fazt-form`) are listed in the config too. Which files are
 * fingerprinted (served `immutable`) is decided here against the live deploy
 * it follows and stored per file. Precompressed variants follow in the background.
 */
export function createDeploy(store: Store, siteId: number, entries: readonly ManifestEntry[], opts: CreateDeployOptions): DeployInfo {
  const rules = deployRules(entries, (e) => new TextDecoder().decode(readBlobBytes(store.write, e.blobId)), opts.hosts);
  const config = { ...(opts.config as object | undefined), ...rules, forms: opts.forms ?? declaredForms(store.write, entries) };
  const info = store.tx(() => {
    // The upload must still be there: its content is only kept for GC while it is (and one upload makes one deploy).
    if (opts.uploadId && store.write.query("DELETE FROM uploads WHERE id = ?").run(opts.uploadId).changes === 0) {
      throw new VfsError(409, "upload_ended", "the upload ended meanwhile: committed by another request, or expired");
    }
    const id = randomId(10);
    const bytes = entries.reduce((n, e) => n + e.size, 0);
    // Strictly increasing per site, so "newest first" is well defined.
    const last = store.write.query("SELECT MAX(created_at) AS t FROM deploys WHERE site_id = ?").get(siteId) as { t: number | null };
    const createdAt = Math.max(Date.now(), (last.t ?? 0) + 1);
    store.write
      .query("INSERT INTO deploys (id, site_id, files, bytes, config, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(id, siteId, entries.length, bytes, JSON.stringify(config), createdAt, opts.createdBy ?? null);
    const immutable = immutableFiles(entries, liveFiles(store, siteId));
    const add = store.write.query("INSERT INTO deploy_files (deploy_id, path, blob_id, size, mime, immutable) VALUES (?, ?, ?, ?, ?, ?)");
    for (const e of entries) add.run(id, e.path, e.blobId, e.size, e.mime, immutable.has(e.path) ? 1 : 0);
    const activatedAt = opts.activate ? activateDeploy(store, siteId, id) : null;
    if (opts.keepDeploys !== undefined) pruneDeploys(store, siteId, opts.keepDeploys);
    return { id, siteId, files: entries.length, bytes, createdAt, activatedAt, createdBy: opts.createdBy ?? null };
  });
  opts.events?.emit({ siteId, deployId: info.id, live: opts.activate });
  return info;
}

/** The files of a site's live deploy, with their immutable decisions: the evidence a new deploy is judged against. */
function liveFiles(store: Store, siteId: number): PreviousFile[] {
  const site = store.write.query("SELECT live_deploy_id AS id FROM sites WHERE id = ?").get(siteId) as { id: string | null } | null;
  return deployFiles(store, site?.id);
}

function deployFiles(store: Store, deployId: string | null | undefined): PreviousFile[] {
  if (!deployId) return [];
  const rows = store.write.query("SELECT path, blob_id AS blobId, immutable FROM deploy_files WHERE deploy_id = ?").all(deployId) as {
    path: string;
    blobId: number;
    immutable: number | null;
  }[];
  return rows.map((r) => ({ path: r.path, blobId: r.blobId, immutable: r.immutable === 1 }));
}

/**
 * Decide the files of deploys made before decisions were stored (migration
 * 0011), oldest first, each against the site's deploy before it; one
 * transaction per deploy. Run at start, before serving. Returns how many deploys.
 */
export function decideOlderDeploys(store: Store): number {
  const undecided = store.write
    .query(
      `SELECT d.id, d.site_id AS siteId, d.created_at AS createdAt FROM deploys d
       WHERE (SELECT f.immutable IS NULL FROM deploy_files f WHERE f.deploy_id = d.id LIMIT 1) ORDER BY d.created_at`,
    )
    .all() as { id: string; siteId: number; createdAt: number }[];
  const before = store.write.query("SELECT id FROM deploys WHERE site_id = ? AND created_at < ? ORDER BY created_at DESC LIMIT 1");
  const set = store.write.query("UPDATE deploy_files SET immutable = ? WHERE deploy_id = ? AND path = ?");
  for (const d of undecided) {
    store.tx(() => {
      const previous = before.get(d.siteId, d.createdAt) as { id: string } | null;
      const files = deployEntries(store, d.id);
      const immutable = immutableFiles(files, deployFiles(store, previous?.id));
      for (const f of files) set.run(immutable.has(f.path) ? 1 : 0, d.id, f.path);
    });
  }
  return undecided.length;
}

/** Make an existing deploy live (rollback or promote), in its own transaction, and announce it. */
export function makeLive(store: Store, siteId: number, deployId: string, events?: DeployEvents): void {
  store.tx(() => activateDeploy(store, siteId, deployId));
  events?.emit({ siteId, deployId, live: true });
}

/**
 * Make a deploy live and record when (the activation history rollback
 * follows). Call inside a transaction. Throws when the deploy is not the site's.
 */
export function activateDeploy(store: Store, siteId: number, deployId: string): number {
  const changed = store.write
    .query("UPDATE sites SET live_deploy_id = ?1 WHERE id = ?2 AND EXISTS (SELECT 1 FROM deploys WHERE id = ?1 AND site_id = ?2)")
    .run(deployId, siteId);
  if (changed.changes !== 1) throw new VfsError(404, "deploy_not_found", `no deploy ${deployId} for this site`);
  // Strictly increasing per site, so "live before" is well defined even within one millisecond.
  const last = store.write.query("SELECT MAX(activated_at) AS t FROM deploys WHERE site_id = ?").get(siteId) as { t: number | null };
  const activatedAt = Math.max(Date.now(), (last.t ?? 0) + 1);
  store.write.query("UPDATE deploys SET activated_at = ? WHERE id = ?").run(activatedAt, deployId);
  return activatedAt;
}

/**
 * Delete all but the newest `keep` deploys of a site, never the live one nor
 * the one that was live before it (the rollback target). Returns how many went.
 */
function pruneDeploys(store: Store, siteId: number, keep: number): number {
  return store.write
    .query(
      `DELETE FROM deploys WHERE site_id = ?1
         AND id NOT IN (SELECT id FROM deploys WHERE site_id = ?1 ORDER BY created_at DESC LIMIT ?2)
         AND id IS NOT (SELECT live_deploy_id FROM sites WHERE id = ?1)
         AND id IS NOT (SELECT id FROM deploys WHERE site_id = ?1 AND activated_at IS NOT NULL
                          AND id IS NOT (SELECT live_deploy_id FROM sites WHERE id = ?1)
                        ORDER BY activated_at DESC LIMIT 1)`,
    )
    .run(siteId, keep).changes;
}

interface DeployRow extends DeployInfo {
  live: boolean;
}

/** A site's deploys, newest first. */
export function listDeploys(store: Store, siteId: number): DeployRow[] {
  const rows = store.write
    .query(
      `SELECT d.id, d.site_id AS siteId, d.files, d.bytes, d.created_at AS createdAt, d.activated_at AS activatedAt,
              d.created_by AS createdBy, (s.live_deploy_id IS d.id) AS live
       FROM deploys d JOIN sites s ON s.id = d.site_id WHERE d.site_id = ? ORDER BY d.created_at DESC`,
    )
    .all(siteId) as (DeployInfo & { live: number })[];
  return rows.map((r) => ({ ...r, live: r.live === 1 }));
}

export function getDeploy(store: Store, siteId: number, deployId: string): DeployRow {
  const d = listDeploys(store, siteId).find((r) => r.id === deployId);
  if (!d) throw new VfsError(404, "deploy_not_found", `no deploy ${deployId} for this site`);
  return d;
}

/** The manifest of a deploy (for single-file PUT: live deploy + one file). */
export function deployEntries(store: Store, deployId: string): ManifestEntry[] {
  return store.write
    .query("SELECT path, blob_id AS blobId, size, mime FROM deploy_files WHERE deploy_id = ?")
    .all(deployId) as ManifestEntry[];
}
