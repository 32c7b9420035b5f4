// Incremental deploys (the digest model): the client sends path -> SHA-256,
// the server answers which contents it lacks, the client uploads only those,
// then commits. An unchanged site uploads no content at all.
import type { Store } from "../db/index.ts";
import type { Limits } from "../core/config.ts";
import { linkToUpload, putContent, SHA256_RE, sha256Hex } from "./content.ts";
import { writeDeploy, type DeployInfo, type ManifestEntry } from "./deploys.ts";
import type { DeployEvents } from "./events.ts";
import { HEADERS_FILE, openUpload, sealedHeadersFile, storeContent, touchUpload } from "./builder.ts";
import { tooManyFiles, deployTooLarge, fileTooLarge, VfsError } from "./errors.ts";
import { mimeFor } from "./mime.ts";
import { Breather } from "../core/breather.ts";
import { assertPublishable, deployPath } from "./paths.ts";

interface IncrementalUpload {
  id: string;
  /** Hashes this site must upload: all but the contents its own deploys and uploads already reference. */
  required: string[];
}

// Content counts as present for a site only when the site itself references it
// (a deploy of its own, or an upload of its own in progress). Answering from
// the whole store would tell one site's token what another site holds, and let
// it publish those bytes without ever having them. Identical bytes uploaded
// again are still stored once: putContent dedups after checking their hash.
const SITE_HOLDS = `SELECT b.id FROM blobs b WHERE b.hash = ?1 AND (
  EXISTS (SELECT 1 FROM deploy_files f JOIN deploys d ON d.id = f.deploy_id WHERE f.blob_id = b.id AND d.site_id = ?2 AND d.state = 'ready')
  OR EXISTS (SELECT 1 FROM upload_blobs ub JOIN uploads u ON u.id = ub.upload_id WHERE ub.blob_id = b.id AND u.site_id = ?2))`;

/** Check a manifest {"/path": sha256} and open an upload for it. */
export function openIncremental(
  store: Store,
  siteId: number,
  files: Record<string, string>,
  limits: Limits,
  includeDotfiles = false,
): IncrementalUpload {
  const paths = Object.keys(files);
  if (paths.length === 0) throw new VfsError(400, "empty_archive", "the manifest lists no files");
  if (paths.length > limits.maxFiles) {
    throw tooManyFiles(limits.maxFiles);
  }
  const manifest: Record<string, string> = {};
  for (const p of paths) {
    const hash = files[p]!;
    if (!SHA256_RE.test(hash)) throw new VfsError(400, "bad_request", `files[${JSON.stringify(p)}]: not a lower-case hex SHA-256`);
    const path = deployPath(p.startsWith("/") ? p.slice(1) : p, limits.maxPathLength);
    assertPublishable(path, includeDotfiles);
    if (manifest[path] !== undefined) throw new VfsError(400, "duplicate_path", `the manifest lists ${path} more than once`);
    manifest[path] = hash;
  }
  return store.tx(() => {
    const id = openUpload(store, siteId, "incremental", manifest);
    const required: string[] = [];
    const held = store.write.query(SITE_HOLDS);
    for (const hash of new Set(Object.values(manifest))) {
      // `_headers` is always uploaded: its Basic-Auth passwords are hashed as it arrives (storeUploadContent).
      const blob = hash === manifest[HEADERS_FILE] ? null : (held.get(hash, siteId) as { id: number } | null);
      if (blob) linkToUpload(store, id, blob.id);
      else required.push(hash);
    }
    return { id, required };
  });
}

interface UploadRow {
  manifest: string;
}

/** The manifest of an open incremental upload of this site, or 404. */
function uploadManifest(store: Store, siteId: number, uploadId: string): Record<string, string> {
  const row = store.write
    .query("SELECT manifest FROM uploads WHERE id = ? AND site_id = ? AND kind = 'incremental' AND expires_at >= ?")
    .get(uploadId, siteId, Date.now()) as UploadRow | null;
  if (!row) throw new VfsError(404, "upload_not_found", `no open upload ${uploadId} for this site (committed, expired or never opened)`);
  return JSON.parse(row.manifest) as Record<string, string>;
}

// The hashes of recently used manifests: a manifest never changes (but for
// its sealed `_headers`), and parsing a 50,000-entry one for each content PUT would dominate the upload.
const hashSets = new Map<string, { all: Set<string>; headers: string | undefined }>();

function manifestHashes(store: Store, siteId: number, uploadId: string): { all: Set<string>; headers: string | undefined } {
  const open = store.write
    .query("SELECT 1 FROM uploads WHERE id = ? AND site_id = ? AND kind = 'incremental' AND expires_at >= ?")
    .get(uploadId, siteId, Date.now());
  let hashes = open ? hashSets.get(uploadId) : undefined;
  if (!hashes) {
    const manifest = uploadManifest(store, siteId, uploadId);
    hashes = { all: new Set(Object.values(manifest)), headers: manifest[HEADERS_FILE] };
    if (hashSets.size >= 16) hashSets.delete(hashSets.keys().next().value!);
    hashSets.set(uploadId, hashes);
  }
  return hashes;
}

/** Throws unless the upload is open for this site and lists the hash. */
export function assertInManifest(store: Store, siteId: number, uploadId: string, hash: string): void {
  if (!manifestHashes(store, siteId, uploadId).all.has(hash)) {
    throw new VfsError(400, "not_in_manifest", `content ${hash} is not in this upload's manifest`);
  }
}

/**
 * Store one content of an upload (its SHA-256 must be `hash`). The upload's
 * `_headers` is read in memory and stored with its Basic-Auth passwords
 * hashed; the manifest then names the stored (hashed) content.
 */
export async function storeUploadContent(
  store: Store,
  siteId: number,
  uploadId: string,
  body: AsyncIterable<Uint8Array>,
  hash: string,
  limits: Limits,
): Promise<{ blobId: number; size: number }> {
  if (manifestHashes(store, siteId, uploadId).headers !== hash) return storeContent(store, uploadId, body, hash, limits);
  let original: Uint8Array | null = null;
  const data = await sealedHeadersFile(
    body,
    () => {},
    (bytes) => (original = bytes),
  );
  const got = sha256Hex(original!);
  if (got !== hash) throw new VfsError(400, "hash_mismatch", `content hash is ${got}, expected ${hash}`);
  touchUpload(store, uploadId);
  return store.tx(() => {
    const blob = putContent(store, data);
    linkToUpload(store, uploadId, blob.blobId);
    const current = uploadManifest(store, siteId, uploadId);
    current[HEADERS_FILE] = sha256Hex(data);
    store.write.query("UPDATE uploads SET manifest = ? WHERE id = ?").run(JSON.stringify(current), uploadId);
    hashSets.delete(uploadId);
    return blob;
  });
}

interface CommitOptions {
  limits: Limits;
  activate: boolean;
  createdBy?: string;
  /** The site's host names: the only cookie domains its `_headers` may name. */
  hosts?: readonly string[];
  events?: DeployEvents;
}

/** Write the deploy once every content is there. */
export async function commitIncremental(store: Store, siteId: number, uploadId: string, opts: CommitOptions): Promise<DeployInfo> {
  const { limits } = opts;
  const manifest = uploadManifest(store, siteId, uploadId);
  const have = new Map(
    (
      store.write
        .query("SELECT b.hash, b.id, b.size FROM upload_blobs u JOIN blobs b ON b.id = u.blob_id WHERE u.upload_id = ?")
        .all(uploadId) as { hash: string; id: number; size: number }[]
    ).map((r) => [r.hash, r]),
  );
  const entries: ManifestEntry[] = [];
  const missing = new Set<string>();
  let bytes = 0;
  for (const [path, hash] of Object.entries(manifest)) {
    const blob = have.get(hash);
    if (!blob) {
      missing.add(hash);
      continue;
    }
    if (blob.size > limits.maxFileBytes) {
      throw fileTooLarge(path, limits.maxFileBytes);
    }
    bytes += blob.size;
    entries.push({ path, blobId: blob.id, size: blob.size, mime: mimeFor(path) });
  }
  if (missing.size > 0) {
    throw new VfsError(409, "missing_content", `${missing.size} content(s) not uploaded yet, e.g. ${[...missing].slice(0, 3).join(", ")}`);
  }
  if (bytes > limits.maxDeployBytes) {
    throw deployTooLarge(limits.maxDeployBytes);
  }
  hashSets.delete(uploadId);
  return writeDeploy(store, siteId, entries, { ...opts, uploadId, keepDeploys: limits.keepDeploys }, new Breather());
}
