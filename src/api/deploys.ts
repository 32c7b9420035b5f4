// Deploys: archive upload, single-file PUT, incremental uploads, history,
// activation (rollback/promote), and an on-demand garbage collection.
import * as v from "valibot";
import type { ApiDeps } from "./deps.ts";
import { log } from "../log/index.ts";
import { getSite, type Site } from "../sites/index.ts";
import { DeployBuilder } from "../vfs/builder.ts";
import { readArchive } from "../vfs/archive.ts";
import { deployEntries, getDeploy, listDeploys, makeLive, type DeployInfo } from "../vfs/deploys.ts";
import { assertInManifest, commitIncremental, openIncremental, storeUploadContent } from "../vfs/incremental.ts";
import { assertPublishable, deployPathFromUrl } from "../vfs/paths.ts";
import { storageError, VfsError } from "../vfs/errors.ts";
import { badRequest } from "../http/errors.ts";
import { adminRoutes, siteRoutes, type Principal } from "./route.ts";

/** Who made a deploy, for its history: the signed-in user or the token's id. */
const author = (p: Principal) => (p.via === "session" ? `user ${p.user}` : `token ${p.id}`);

const OpenUpload = v.object({ files: v.record(v.string(), v.string()) });
const Commit = v.object({ activate: v.optional(v.boolean(), true) });

function activateParam(url: string): boolean {
  const value = new URL(url).searchParams.get("activate");
  if (value === null || value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw badRequest(`activate: expected true or false, got "${value}"`);
}

export function deployApi(app: ApiDeps) {
  const store = app.store;
  const limits = app.config.limits;
  // A manifest names every file of a deploy: path and hash, with JSON's quoting.
  const manifestLimit = limits.maxFiles * (limits.maxPathLength + 96) + 1024;

  const view = (site: Site, d: DeployInfo, live: boolean) => ({
    id: d.id,
    site: site.name,
    files: d.files,
    bytes: d.bytes,
    created_at: new Date(d.createdAt).toISOString(),
    created_by: d.createdBy,
    live,
    // When it was last made live; a preview has never been live (rollback skips it).
    activated_at: d.activatedAt === null ? null : new Date(d.activatedAt).toISOString(),
    preview: d.activatedAt === null,
    url: live ? app.siteUrl(site.name) : app.siteUrl(site.name, d.id),
    preview_url: app.siteUrl(site.name, d.id),
  });

  const committed = (site: Site, d: DeployInfo, live: boolean, set: { status?: number | string }) => {
    app.gc.schedule();
    set.status = 201;
    return view(site, d, live);
  };

  /**
   * Run a write of the site's content. A site deleted meanwhile is a 404 (not
   * the foreign key its rows then fail on); a full disk is a 507.
   */
  const writing = async <T>(site: Site, write: () => Promise<T> | T): Promise<T> => {
    try {
      return await write();
    } catch (err) {
      getSite(store, site.name);
      throw storageError(err);
    }
  };

  /** The site's own host names (NAME.DOMAIN and its domains): a `_headers` cookie may name only these as Domain. */
  const hostsOf = (site: Site): string[] => [new URL(app.siteUrl(site.name)).hostname, ...site.domains];

  /** Run a streamed build; on any failure nothing is committed and its content is left for GC. */
  const build = (site: Site, fill: (b: DeployBuilder) => Promise<void>, activate: boolean, by: Principal): Promise<DeployInfo> =>
    writing(site, async () => {
      const builder = new DeployBuilder(store, site.id, limits, site.settings.dotfiles, app.deploys);
      const started = performance.now();
      const ms = () => Math.round(performance.now() - started);
      try {
        log.debug("deploy: receiving", { site: site.name, activate });
        await fill(builder);
        log.debug("deploy: content stored, committing", { site: site.name, ms: ms() });
        const d = await builder.commit({ activate, keepDeploys: limits.keepDeploys, createdBy: author(by), hosts: hostsOf(site) });
        log.debug("deploy: committed", { site: site.name, deploy: d.id, files: d.files, bytes: d.bytes, live: activate, ms: ms() });
        return d;
      } catch (err) {
        log.debug("deploy: failed, nothing committed", { site: site.name, err: err as Error, ms: ms() });
        throw err;
      } finally {
        builder.abort();
        app.gc.schedule();
      }
    });

  const site = siteRoutes()
    .post("/api/sites/:site/deploys", async ({ request, site, set, principal }) => {
      const activate = activateParam(request.url);
      const d = await build(site, (b) => readArchive(store, request.body, b, limits).then(() => {}), activate, principal);
      return committed(site, d, activate, set);
    })
    .get("/api/sites/:site/deploys", ({ site }) => ({
      site: site.name,
      deploys: listDeploys(store, site.id).map((d) => view(site, d, d.live)),
    }))
    .get("/api/sites/:site/deploys/:id", ({ site, params }) => {
      const d = getDeploy(store, site.id, params.id!);
      return view(site, d, d.live);
    })
    .post("/api/sites/:site/deploys/:id/activate", ({ site, params }) => {
      makeLive(store, site.id, params.id!, app.deploys);
      return view(site, getDeploy(store, site.id, params.id!), true);
    })
    .put("/api/sites/:site/files/*", async ({ request, params, site, set, principal }) => {
      const activate = activateParam(request.url);
      // The raw (still percent-encoded) path, so encoded tricks are seen and refused.
      const pathname = new URL(request.url).pathname;
      const prefix = `/api/sites/${params.site}/files/`;
      if (!pathname.startsWith(prefix)) throw new VfsError(400, "invalid_path", "the file path must follow /files/");
      const path = deployPathFromUrl(pathname.slice(prefix.length), limits.maxPathLength);
      assertPublishable(path, site.settings.dotfiles);
      const base = getSite(store, site.name).liveDeployId;
      const d = await build(
        site,
        async (b) => {
          for (const e of base ? deployEntries(store, base) : []) if (e.path !== path) b.addEntry(e);
          b.admit(path.slice(1));
          await b.addFile(path, (request.body ?? emptyBody()) as unknown as AsyncIterable<Uint8Array>);
        },
        activate,
        principal,
      );
      return committed(site, d, activate, set);
    })
    .post(
      "/api/sites/:site/uploads",
      async ({ site, json, set }) => {
        const input = await json(OpenUpload);
        const upload = await writing(site, () => openIncremental(store, site.id, input.files, limits, site.settings.dotfiles));
        const files = Object.keys(input.files).length;
        log.debug("deploy: incremental upload opened", { site: site.name, upload: upload.id, files, required: upload.required.length });
        set.status = 201;
        return { id: upload.id, required: upload.required };
      },
      { bodyLimit: manifestLimit },
    )
    .put("/api/sites/:site/uploads/:id/blobs/:hash", async ({ request, params, site, set }) => {
      assertInManifest(store, site.id, params.id!, params.hash!);
      const body = (request.body ?? emptyBody()) as unknown as AsyncIterable<Uint8Array>;
      const blob = await writing(site, () => storeUploadContent(store, site.id, params.id!, body, params.hash!, limits));
      set.status = 201;
      return { hash: params.hash, size: blob.size };
    })
    .post("/api/sites/:site/uploads/:id/commit", async ({ site, params, json, set, principal }) => {
      const { activate } = await json(Commit);
      const d = await writing(site, () =>
        commitIncremental(store, site.id, params.id!, {
          limits,
          activate,
          createdBy: author(principal),
          hosts: hostsOf(site),
          events: app.deploys,
        }),
      );
      log.debug("deploy: incremental upload committed", {
        site: site.name,
        upload: params.id,
        deploy: d.id,
        files: d.files,
        live: activate,
      });
      return committed(site, d, activate, set);
    });
  const admin = adminRoutes().post("/api/gc", async () => await app.gc.run());
  return [site, admin];
}

function emptyBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}
