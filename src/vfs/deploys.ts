// Deploys are immutable manifests (path -> blob). A site's live deploy is one
// column; switching it is one UPDATE, so readers see old or new, never a mix.
import type { Store } from "../db/index.ts";
import { randomId } from "../core/ids.ts";
import { VfsError } from "./errors.ts";
import { deployRules } from "./rules.ts";
import { readBlobBytes } from "./read.ts";
import type { DeployEvents } from "./events.ts";
import { declaredForms, declaredFormsInSlices } from "./form-names.ts";
import { unlinkFromUpload } from "./content.ts";
import type { Breather } from "../core/breather.ts";
import { immutableFiles, immutableFilesInSlices, type PreviousFile } from "./fingerprints.ts";

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
  /** The upload whose content this deploy now references; it ends when the deploy is committed. */
  uploadId?: string;
  /** Keep this many newest deploys of the site (and always the live one). */
  keepDeploys?: number;
  /** Who makes it (shown in the deploy history). */
  createdBy?: string;
  /** The site's host names: the only ones a `_headers` cookie may name as Domain. */
  hosts?: readonly string[];
  /** Told once the deploy is committed (the server's listeners); none in local tools. */
  events?: DeployEvents;
}

/** Manifest rows written or deleted per transaction when a deploy is written or removed in slices (a few ms each). */
const ROWS_PER_SLICE = 500;

/** Only these deploys exist for readers (listed, served, activated, counted for retention); see migration 0018. */
const READY = "state = 'ready'";

/**
 * A manifest written in one transaction (local tools, seeding): the deploy,
 * its files, the end of its upload, optionally making it live and marking
 * deploys past retention for GC. `_redirects` and `_headers` are parsed
 * first: a malformed line throws a RulesError (400) naming it, and nothing is
 * written. Forms declared in the HTML (`data-fazt-form`) are listed in the
 * config too. Which files are fingerprinted (served `immutable`) is decided
 * here against the live deploy it follows and stored per file. Precompressed
 * variants follow in the background.
 */
export function createDeploy(store: Store, siteId: number, entries: readonly ManifestEntry[], opts: CreateDeployOptions): DeployInfo {
  const config = deployConfig(store, entries, opts, declaredForms(store.write, entries));
  const info = store.tx(() => {
    const id = beginDeploy(store, siteId, entries, config, opts, "ready");
    insertFiles(store, id, entries, immutableFiles(entries, liveFiles(store, siteId)));
    return finishDeploy(store, siteId, id, entries, opts);
  });
  opts.events?.emit({ siteId, deployId: info.id, live: opts.activate });
  return info;
}

/**
 * The same deploy, as the server writes it (archive upload, single-file PUT,
 * incremental commit): in slices that let the event loop run in between, since
 * one transaction costs ~4 µs per file (200 ms at 50,000). The deploy is
 * written as 'writing', invisible and tied to its upload (if the upload ends,
 * it goes too); its files follow a slice per transaction; its upload's links
 * to content are dropped a slice at a time (the deploy's own rows keep that
 * content from GC now); the last transaction makes it 'ready' and ends the
 * upload, which is then cheap, makes it live if asked and marks deploys past
 * retention for GC. A reader sees the whole deploy or nothing.
 */
export async function writeDeploy(
  store: Store,
  siteId: number,
  entries: readonly ManifestEntry[],
  opts: CreateDeployOptions & { uploadId: string },
  breather: Breather,
): Promise<DeployInfo> {
  const config = deployConfig(store, entries, opts, await declaredFormsInSlices(store.write, entries, breather));
  await breather.breathe();
  const id = store.tx(() => beginDeploy(store, siteId, entries, config, opts, "writing"));
  await breather.breathe();
  const previous = liveFiles(store, siteId);
  await breather.breathe();
  const immutable = await immutableFilesInSlices(entries, previous, breather);
  for (let from = 0; from < entries.length; from += ROWS_PER_SLICE) {
    await breather.breathe();
    store.tx(() => {
      assertWriting(store, id);
      insertFiles(store, id, entries.slice(from, from + ROWS_PER_SLICE), immutable);
    });
  }
  while (store.tx(() => unlinkFromUpload(store, opts.uploadId, ROWS_PER_SLICE)) > 0) await breather.breathe();
  await breather.breathe();
  const info = store.tx(() => {
    assertWriting(store, id);
    return finishDeploy(store, siteId, id, entries, opts);
  });
  opts.events?.emit({ siteId, deployId: info.id, live: opts.activate });
  return info;
}

/** Rules parsed (a bad line throws, nothing written) and forms, as stored in `deploys.config`. */
function deployConfig(store: Store, entries: readonly ManifestEntry[], opts: CreateDeployOptions, forms: readonly string[]): object {
  const rules = deployRules(entries, (e) => new TextDecoder().decode(readBlobBytes(store.write, e.blobId)), opts.hosts);
  return { ...(opts.config as object | undefined), ...rules, forms };
}

function uploadEnded(): VfsError {
  return new VfsError(409, "upload_ended", "the upload ended meanwhile: committed by another request, or expired");
}

/** The deploy's row (a 'writing' one is tied to its upload); its time is set when it is finished. */
function beginDeploy(
  store: Store,
  siteId: number,
  entries: readonly ManifestEntry[],
  config: object,
  opts: CreateDeployOptions,
  state: "writing" | "ready",
): string {
  // The upload must still be there: its content is only kept from GC while it is.
  if (opts.uploadId && !store.write.query("SELECT 1 FROM uploads WHERE id = ?").get(opts.uploadId)) throw uploadEnded();
  const id = randomId(10);
  const bytes = entries.reduce((n, e) => n + e.size, 0);
  store.write
    .query(
      "INSERT INTO deploys (id, site_id, files, bytes, config, created_at, created_by, state, upload_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .run(
      id,
      siteId,
      entries.length,
      bytes,
      JSON.stringify(config),
      Date.now(),
      opts.createdBy ?? null,
      state,
      state === "writing" ? opts.uploadId! : null,
    );
  return id;
}

/** A 'writing' deploy is gone when its upload ended (another commit of it, expiry, the site's deletion). */
function assertWriting(store: Store, id: string): void {
  if (!store.write.query("SELECT 1 FROM deploys WHERE id = ? AND state = 'writing'").get(id)) throw uploadEnded();
}

function insertFiles(store: Store, id: string, entries: readonly ManifestEntry[], immutable: ReadonlySet<string>): void {
  const add = store.write.query("INSERT INTO deploy_files (deploy_id, path, blob_id, size, mime, immutable) VALUES (?, ?, ?, ?, ?, ?)");
  for (const e of entries) add.run(id, e.path, e.blobId, e.size, e.mime, immutable.has(e.path) ? 1 : 0);
}

/** Make the deploy ready (its time, its upload ended), live if asked, and mark deploys past retention. Inside a transaction. */
function finishDeploy(store: Store, siteId: number, id: string, entries: readonly ManifestEntry[], opts: CreateDeployOptions): DeployInfo {
  // Strictly increasing per site, so "newest first" is well defined.
  const last = store.write.query(`SELECT MAX(created_at) AS t FROM deploys WHERE site_id = ? AND ${READY}`).get(siteId) as {
    t: number | null;
  };
  const createdAt = Math.max(Date.now(), (last.t ?? 0) + 1);
  store.write.query("UPDATE deploys SET state = 'ready', upload_id = NULL, created_at = ? WHERE id = ?").run(createdAt, id);
  if (opts.uploadId && store.write.query("DELETE FROM uploads WHERE id = ?").run(opts.uploadId).changes === 0) throw uploadEnded();
  const activatedAt = opts.activate ? activateDeploy(store, siteId, id) : null;
  if (opts.keepDeploys !== undefined) retireDeploys(store, siteId, opts.keepDeploys);
  const bytes = entries.reduce((n, e) => n + e.size, 0);
  return { id, siteId, files: entries.length, bytes, createdAt, activatedAt, createdBy: opts.createdBy ?? null };
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
       WHERE d.state = 'ready' AND (SELECT f.immutable IS NULL FROM deploy_files f WHERE f.deploy_id = d.id LIMIT 1)
       ORDER BY d.created_at`,
    )
    .all() as { id: string; siteId: number; createdAt: number }[];
  const before = store.write.query(
    `SELECT id FROM deploys WHERE site_id = ? AND created_at < ? AND ${READY} ORDER BY created_at DESC LIMIT 1`,
  );
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
    .query(
      `UPDATE sites SET live_deploy_id = ?1 WHERE id = ?2 AND EXISTS (SELECT 1 FROM deploys WHERE id = ?1 AND site_id = ?2 AND ${READY})`,
    )
    .run(deployId, siteId);
  if (changed.changes !== 1) throw new VfsError(404, "deploy_not_found", `no deploy ${deployId} for this site`);
  // Strictly increasing per site, so "live before" is well defined even within one millisecond.
  const last = store.write.query("SELECT MAX(activated_at) AS t FROM deploys WHERE site_id = ?").get(siteId) as { t: number | null };
  const activatedAt = Math.max(Date.now(), (last.t ?? 0) + 1);
  store.write.query("UPDATE deploys SET activated_at = ? WHERE id = ?").run(activatedAt, deployId);
  return activatedAt;
}

/**
 * Mark all but the newest `keep` deploys of a site for deletion, never the
 * live one nor the one that was live before it (the rollback target); GC
 * removes them a slice at a time (removeRetiredDeploys). Returns how many.
 */
function retireDeploys(store: Store, siteId: number, keep: number): number {
  return store.write
    .query(
      `UPDATE deploys SET state = 'deleting' WHERE site_id = ?1 AND ${READY}
         AND id NOT IN (SELECT id FROM deploys WHERE site_id = ?1 AND ${READY} ORDER BY created_at DESC LIMIT ?2)
         AND id IS NOT (SELECT live_deploy_id FROM sites WHERE id = ?1)
         AND id IS NOT (SELECT id FROM deploys WHERE site_id = ?1 AND ${READY} AND activated_at IS NOT NULL
                          AND id IS NOT (SELECT live_deploy_id FROM sites WHERE id = ?1)
                        ORDER BY activated_at DESC LIMIT 1)`,
    )
    .run(siteId, keep).changes;
}

/** Take all of a site's deploys out of service before the site goes: none live, all marked for deletion. */
export function retireAllDeploys(store: Store, siteId: number): void {
  store.tx(() => {
    store.write.query("UPDATE sites SET live_deploy_id = NULL WHERE id = ?").run(siteId);
    store.write.query(`UPDATE deploys SET state = 'deleting' WHERE site_id = ? AND ${READY}`).run(siteId);
  });
}

/** Delete the deploys marked for deletion, their manifest a slice per transaction, pausing between slices; returns how many went. */
export async function removeRetiredDeploys(store: Store, pause: () => Promise<void>): Promise<number> {
  const next = store.write.query("SELECT id FROM deploys WHERE state = 'deleting' LIMIT 1");
  const slice = store.write.query(
    "DELETE FROM deploy_files WHERE deploy_id = ?1 AND path IN (SELECT path FROM deploy_files WHERE deploy_id = ?1 LIMIT ?2)",
  );
  let removed = 0;
  for (let d = next.get() as { id: string } | null; d; d = next.get() as { id: string } | null) {
    const id = d.id;
    while (store.tx(() => slice.run(id, ROWS_PER_SLICE).changes) > 0) await pause();
    store.write.query("DELETE FROM deploys WHERE id = ? AND state = 'deleting'").run(id);
    removed++;
    await pause();
  }
  return removed;
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
       FROM deploys d JOIN sites s ON s.id = d.site_id WHERE d.site_id = ? AND d.${READY} ORDER BY d.created_at DESC`,
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
