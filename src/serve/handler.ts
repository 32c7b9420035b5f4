// Serving a site's files from the VFS. (Basic path resolution; see docs/SERVING.md.)
import type { VfsReader, FileMeta } from "../vfs/read.ts";
import type { SiteRoute } from "./routes.ts";

const NOT_FOUND_HTML = "<!doctype html><title>404 Not Found</title><h1>404 Not Found</h1>\n";

export function notFound(): Response {
  return new Response(NOT_FOUND_HTML, { status: 404, headers: { "content-type": "text/html; charset=utf-8" } });
}

export class SiteHandler {
  constructor(private readonly vfs: VfsReader) {}

  handle(req: Request, route: SiteRoute): Response {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return new Response("method not allowed\n", { status: 405, headers: { allow: "GET, HEAD" } });
    }
    if (!route.deployId) return notFound();
    const url = req.url;
    const start = url.indexOf("/", url.indexOf("//") + 2);
    const q = url.indexOf("?", start);
    let path: string;
    try {
      path = decodeURIComponent(q < 0 ? url.slice(start) : url.slice(start, q));
    } catch {
      return new Response("bad request\n", { status: 400 });
    }
    if (path.includes("\0") || path.split("/").some((s) => s === "..")) return new Response("bad request\n", { status: 400 });
    const meta = this.vfs.lookup(route.deployId, path.endsWith("/") ? path + "index.html" : path);
    if (!meta) return notFound();
    return this.respond(req, meta);
  }

  private respond(req: Request, meta: FileMeta): Response {
    const etag = `"${meta.hash.slice(0, 32)}"`;
    const headers: Record<string, string> = {
      "content-type": meta.mime,
      etag,
      "cache-control": "public, max-age=0, must-revalidate",
      "x-content-type-options": "nosniff",
    };
    if (req.headers.get("if-none-match") === etag) return new Response(null, { status: 304, headers });
    headers["content-length"] = String(meta.size);
    if (req.method === "HEAD") return new Response(null, { status: 200, headers });
    const body = meta.chunks === 1 ? this.vfs.readAll(meta) : this.vfs.stream(meta.blobId, 0, meta.size - 1);
    return new Response(body, { status: 200, headers });
  }
}
