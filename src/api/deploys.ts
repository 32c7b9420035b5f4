// Deploys: archive upload, single-file PUT, incremental uploads, history,
// activation (rollback/promote), and an on-demand garbage collection.
import { Elysia } from "elysia";
import * as v from "valibot";
import type { App } from "../core/app.ts";
import { getSite, type Site } from "../sites/index.ts";
import { DeployBuilder, storeContent } from "../vfs/builder.ts";
import { readArchive } from "../vfs/archive.ts";
import { activateDeploy, deployEntries, getDeploy, listDeploys, type DeployInfo } from "../vfs/deploys.ts";
import { assertInManifest, commitIncremental, openIncremental } from "../vfs/incremental.ts";
import { deployPathFromUrl } from "../vfs/paths.ts";
import { VfsError } from "../vfs/errors.ts";
import { authenticate, requireAdmin, requireSite } from "./auth.ts";
import { parseBody } from "./body.ts";
import { JSON_BODY } from "./sites.ts";

const OpenUpload = v.object({ files: v.record(v.string(), v.string()) });
const Commit = v.object({ activate: v.optional(v.boolean(), true) });

// Upload bodies are read as streams by the handlers, never parsed by Elysia.
const RAW = { parse: "none" } as const;

function activateParam(url: string): boolean {
  const value = new URL(url).searchParams.get("activate");
  if (value === null || value === "true" || value === "1") return true;
  if (value === "false" || value === "0") return false;
  throw new VfsError(400, "bad_request", `activate: expected true or false, got "${value}"`);
}

export function deployRoutes(app: App) {
  const store = app.store;
  const limits = app.config.limits;

  const siteFor = (req: Request, name: string): Site => {
    const scope = authenticate(app, req);
    const site = getSite(store, name);
    requireSite(scope, site.id);
    return site;
  };

  const view = (site: Site, d: DeployInfo, live: boolean) => ({
    id: d.id,
    site: site.name,
    files: d.files,
    bytes: d.bytes,
    created_at: new Date(d.createdAt).toISOString(),
    live,
    url: live ? app.siteUrl(site.name) : app.siteUrl(site.name, d.id),
    preview_url: app.siteUrl(site.name, d.id),
  });

  const committed = (site: Site, d: DeployInfo, live: boolean, set: { status?: number | string }) => {
    if (live) app.sitesChanged();
    app.gc.schedule();
    set.status = 201;
    return view(site, d, live);
  };

  /** The site's own host names: a `_headers` cookie may name only these as Domain. */
  const hostsOf = (site: Site): string[] => [site.name + app.routes.siteSuffix, ...site.domains];

  /** Run a streamed build; on any failure nothing is committed and its content is left for GC. */
  const build = async (site: Site, fill: (b: DeployBuilder) => Promise<void>, activate: boolean): Promise<DeployInfo> => {
    const builder = new DeployBuilder(store, site.id, limits);
    try {
      await fill(builder);
      return builder.commit({ activate, keepDeploys: limits.keepDeploys, hosts: hostsOf(site) });
    } catch (err) {
      // Deleted while its upload was streaming: say so rather than fail on a foreign key.
      if (!(err instanceof VfsError)) getSite(store, site.name);
      throw err;
    } finally {
      builder.abort();
      app.gc.schedule();
    }
  };

  return new Elysia()
    .post(
      "/api/sites/:site/deploys",
      async ({ request, params, set }) => {
        const site = siteFor(request, params.site);
        const activate = activateParam(request.url);
        const d = await build(site, (b) => readArchive(store, request.body, b, limits).then(() => {}), activate);
        return committed(site, d, activate, set);
      },
      RAW,
    )
    .get("/api/sites/:site/deploys", ({ request, params }) => {
      const site = siteFor(request, params.site);
      return { site: site.name, deploys: listDeploys(store, site.id).map((d) => view(site, d, d.live)) };
    })
    .get("/api/sites/:site/deploys/:id", ({ request, params }) => {
      const site = siteFor(request, params.site);
      const d = getDeploy(store, site.id, params.id);
      return view(site, d, d.live);
    })
    .post("/api/sites/:site/deploys/:id/activate", ({ request, params }) => {
      const site = siteFor(request, params.site);
      store.tx(() => activateDeploy(store, site.id, params.id));
      app.sitesChanged();
      return view(site, getDeploy(store, site.id, params.id), true);
    })
    .put(
      "/api/sites/:site/files/*",
      async ({ request, params, set }) => {
        const site = siteFor(request, params.site);
        const activate = activateParam(request.url);
        // The raw (still percent-encoded) path, so encoded tricks are seen and refused.
        const pathname = new URL(request.url).pathname;
        const prefix = `/api/sites/${params.site}/files/`;
        if (!pathname.startsWith(prefix)) throw new VfsError(400, "invalid_path", "the file path must follow /files/");
        const path = deployPathFromUrl(pathname.slice(prefix.length), limits.maxPathLength);
        const base = getSite(store, site.name).liveDeployId;
        const d = await build(
          site,
          async (b) => {
            for (const e of base ? deployEntries(store, base) : []) if (e.path !== path) b.addEntry(e);
            b.admit(path.slice(1));
            await b.addFile(path, (request.body ?? emptyBody()) as unknown as AsyncIterable<Uint8Array>);
          },
          activate,
        );
        return committed(site, d, activate, set);
      },
      RAW,
    )
    .post("/api/sites/:site/uploads", ({ request, params, body, set }) => {
      const site = siteFor(request, params.site);
      const input = parseBody(OpenUpload, body);
      const upload = openIncremental(store, site.id, input.files, limits);
      set.status = 201;
      return { id: upload.id, required: upload.required };
    }, JSON_BODY)
    .put(
      "/api/sites/:site/uploads/:id/blobs/:hash",
      async ({ request, params, set }) => {
        const site = siteFor(request, params.site);
        assertInManifest(store, site.id, params.id, params.hash);
        const body = (request.body ?? emptyBody()) as unknown as AsyncIterable<Uint8Array>;
        const blob = await storeContent(store, params.id, body, params.hash, limits.maxFileBytes);
        set.status = 201;
        return { hash: params.hash, size: blob.size };
      },
      RAW,
    )
    .post("/api/sites/:site/uploads/:id/commit", ({ request, params, body, set }) => {
      const site = siteFor(request, params.site);
      const { activate } = parseBody(Commit, body);
      const d = commitIncremental(store, site.id, params.id, limits, activate, hostsOf(site));
      return committed(site, d, activate, set);
    }, JSON_BODY)
    .post("/api/gc", async ({ request }) => {
      requireAdmin(authenticate(app, request));
      return await app.gc.run();
    });
}

function emptyBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({ start: (c) => c.close() });
}
