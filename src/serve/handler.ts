// Serving a site's files: path resolution (docs/SERVING.md), `_redirects`
// and `_headers`, conditional and range requests, precompressed variants.
//
// The hot path: a request's (deploy, path) is resolved once; the result is
// kept in a bytes-bounded cache with ready Responses for small files (their
// bodies, variants and 304s), cloned per request. Misses cost a few indexed
// SQL lookups. Big files stream chunk rows with backpressure.
import type { VfsReader, FileMeta } from "../vfs/read.ts";
import type { SiteRoute } from "./routes.ts";
import { ByteCache, type Slot } from "./cache.ts";
import { compileRules, headersFor, matchRedirect, queryMatters, substitute, type CompiledRules, type Params } from "./rules.ts";
import {
  ENC_BR,
  ENC_GZIP,
  REVALIDATE,
  acceptedEncodings,
  IMMUTABLE,
  chooseEncoding,
  contentType,
  etagMatches,
  notModifiedSince,
  parseRange,
  pathStart,
  pathClassOf,
  CLASS_NONE,
} from "./http.ts";

/** Files up to this size are kept in memory (with their variants). */
const SMALL_FILE_MAX = 1024 * 1024;
export const DEFAULT_CACHE_BYTES = 48 * 1024 * 1024;
/** Bookkeeping bytes charged per cache entry besides bodies. */
const ENTRY_OVERHEAD = 512;
const HIDDEN = new Set(["/_redirects", "/_headers"]);

const NOT_FOUND_HTML = "<!doctype html><title>404 Not Found</title><h1>404 Not Found</h1>\n";
const PLAIN_HEADERS = { "content-type": "text/html; charset=utf-8", "x-content-type-options": "nosniff", "cache-control": REVALIDATE };

/** Cloned per answer: building a Response from a headers object costs more than the clone (404 scans are common). */
const NOT_FOUND = new Response(NOT_FOUND_HTML, { status: 404, headers: PLAIN_HEADERS });

export function notFound(): Response {
  return NOT_FOUND.clone() as Response;
}

function plain(status: number, text: string, extra?: Record<string, string>): Response {
  return new Response(text, { status, headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", ...extra } });
}

/** One representation of a file: identity, br or gzip. */
interface Repr {
  blobId: number;
  size: number;
  chunks: number;
  etag: string;
  headers: Record<string, string>;
  /** Small files: the bytes and ready responses to clone. */
  body: Uint8Array | null;
  ok: Response | null;
  notModified: Response;
}

interface FileEntry {
  kind: "file";
  status: number;
  bytes: number;
  /** PATH_CLASSES index of the served file's type. */
  pathClass: number;
  /** Content hash as used in ETags. */
  tag: string;
  lastModified: number;
  lastModifiedHttp: string;
  available: number;
  reprs: Repr[]; // indexed by 0 (identity), ENC_BR, ENC_GZIP
}

interface RedirectEntry {
  kind: "redirect";
  status: number;
  bytes: number;
  location: string;
  /** Carry the request's query string over (when the target has none). */
  appendQuery: boolean;
}

interface PlainEntry {
  kind: "notfound" | "badrequest";
  bytes: number;
}

type Entry = FileEntry | RedirectEntry | PlainEntry;

const NOT_FOUND_ENTRY: PlainEntry = { kind: "notfound", bytes: ENTRY_OVERHEAD };
const BAD_REQUEST_ENTRY: PlainEntry = { kind: "badrequest", bytes: ENTRY_OVERHEAD };

/** What serving one deploy (as live or as preview) needs besides its files. */
interface DeployContext {
  deployId: string;
  /** Resolved (raw path [+ query]) -> entry, in the shared byte budget. */
  entries: Map<string, Slot<Entry>>;
  rules: CompiledRules;
  lastModified: number;
  spa: string | null;
}

/**
 * The answer to one site request and what analytics needs of it. handle() fills
 * and returns one instance per handler (no allocation per request): read it
 * before the next handle() call (handle is synchronous).
 */
export interface Served {
  response: Response;
  status: number;
  /** Body bytes sent (0 for HEAD, 304 and empty bodies). */
  bytes: number;
  /** PATH_CLASSES index: the served file's type, CLASS_NONE when no file was served. */
  pathClass: number;
}

export class SiteHandler {
  private readonly cache: ByteCache<Entry>;
  /** Per route object (the routing table hands out one per distinct Host header)... */
  private contexts = new WeakMap<SiteRoute, DeployContext | null>();
  /** ...shared by every host that leads to the same deploy (live or preview). */
  private byDeploy = new Map<string, DeployContext | null>();
  private readonly served: Served = { response: NOT_FOUND, status: 0, bytes: 0, pathClass: CLASS_NONE };

  constructor(
    private readonly vfs: VfsReader,
    cacheBytes = DEFAULT_CACHE_BYTES,
  ) {
    this.cache = new ByteCache(cacheBytes);
  }

  /** Cache lookups so far and what it holds (for /metrics). */
  cacheStats(): { hits: number; misses: number; bytes: number; entries: number } {
    const c = this.cache;
    return { hits: c.hits, misses: c.misses, bytes: c.bytes, entries: c.size };
  }

  /** Forget everything resolved: live deploys or stored variants changed. */
  invalidate(): void {
    this.cache.clear();
    this.contexts = new WeakMap();
    this.byDeploy.clear();
  }

  handle(req: Request, route: SiteRoute): Served {
    const served = this.served;
    served.bytes = 0;
    served.pathClass = CLASS_NONE;
    const response = this.answer(req, route);
    served.response = response;
    served.status = response.status;
    return served;
  }

  private answer(req: Request, route: SiteRoute): Response {
    const method = req.method;
    const head = method === "HEAD";
    if (!head && method !== "GET") return this.plain(405, "method not allowed\n", { allow: "GET, HEAD" });
    if (route.deployId === null) return this.notFound();
    let ctx = this.contexts.get(route);
    if (ctx === undefined) this.contexts.set(route, (ctx = this.context(route, route.deployId)));
    if (ctx === null) return this.notFound();
    const url = req.url;
    const start = pathStart(url);
    const q = url.indexOf("?", start);
    const rawPath = q < 0 ? url.slice(start) : url.slice(start, q);
    const query = q < 0 ? "" : url.slice(q + 1);
    // Only paths that a rule with query conditions matches are remembered per query string.
    const key = query !== "" && queryMatters(ctx.rules, rawPath) ? `${rawPath}?${query}` : rawPath;
    const entry = this.cache.get(ctx.entries, key) ?? this.cache.set(ctx.entries, key, this.resolve(ctx, rawPath, query));
    if (entry.kind === "file") {
      this.served.pathClass = entry.pathClass;
      return this.file(req.headers, entry, head);
    }
    if (entry.kind === "redirect") {
      const location = entry.appendQuery && query !== "" ? `${entry.location}?${query}` : entry.location;
      return new Response(null, { status: entry.status, headers: { location, "cache-control": REVALIDATE, "x-content-type-options": "nosniff" } });
    }
    return entry.kind === "notfound" ? this.notFound() : this.plain(400, "bad request\n");
  }

  // ---- per-request answer from a resolved entry ---------------------------

  /** A file's answer: the representation the client accepts, then conditionals, then ranges. */
  private file(request: Headers, entry: FileEntry, head: boolean): Response {
    // Files without variants need no look at Accept-Encoding.
    const repr = entry.available === 0 ? entry.reprs[0]! : entry.reprs[chooseEncoding(acceptedEncodings(request.get("accept-encoding")), entry.available)]!;
    if (entry.status !== 200) return this.full(repr, entry.status, head);
    const inm = request.get("if-none-match");
    if (inm !== null) {
      if (inm === repr.etag || etagMatches(inm, entry.tag)) return repr.notModified.clone() as Response;
    } else {
      const ims = request.get("if-modified-since");
      if (ims !== null && notModifiedSince(ims, entry.lastModified)) return repr.notModified.clone() as Response;
    }
    if (!head) {
      const range = request.get("range");
      if (range !== null) {
        const ranged = this.ranged(request, entry, range);
        if (ranged) return ranged;
      }
    }
    return this.full(repr, 200, head);
  }

  private notFound(): Response {
    this.served.bytes = NOT_FOUND_HTML.length;
    return notFound();
  }

  private plain(status: number, text: string, extra?: Record<string, string>): Response {
    this.served.bytes = text.length;
    return plain(status, text, extra);
  }

  private full(repr: Repr, status: number, head: boolean): Response {
    if (!head) this.served.bytes = repr.size;
    if (repr.ok) return repr.ok.clone() as Response;
    if (head) return new Response(null, { status, headers: repr.headers });
    return new Response(this.vfs.stream(repr.blobId, 0, repr.size - 1), { status, headers: repr.headers });
  }

  /** A single range of the identity bytes; null: serve the whole file instead. */
  private ranged(request: Headers, entry: FileEntry, header: string): Response | null {
    const id = entry.reprs[0]!;
    const ifRange = request.get("if-range");
    if (ifRange !== null && ifRange !== id.etag && ifRange !== entry.lastModifiedHttp) return null;
    const r = parseRange(header, id.size);
    if (r === null) return null;
    if (r === "unsatisfiable") {
      return this.plain(416, "range not satisfiable\n", { "content-range": `bytes */${id.size}`, etag: id.etag });
    }
    const headers = { ...id.headers, "content-range": `bytes ${r.start}-${r.end}/${id.size}`, "content-length": String(r.end - r.start + 1) };
    const body = id.body ? id.body.subarray(r.start, r.end + 1) : this.vfs.stream(id.blobId, r.start, r.end);
    this.served.bytes = r.end - r.start + 1;
    return new Response(body, { status: 206, headers });
  }

  // ---- resolution (once per deploy and path) ------------------------------

  private context(route: SiteRoute, deployId: string): DeployContext | null {
    const key = route.preview ? `preview ${deployId}` : deployId;
    let ctx = this.byDeploy.get(key);
    if (ctx === undefined) this.byDeploy.set(key, (ctx = this.loadContext(route, deployId)));
    return ctx;
  }

  private loadContext(route: SiteRoute, deployId: string): DeployContext | null {
    const record = this.vfs.deploy(deployId);
    if (!record) return null;
    const config = JSON.parse(record.config) as Parameters<typeof compileRules>[0];
    return {
      deployId,
      entries: this.cache.newMap(),
      rules: compileRules(config),
      lastModified: route.preview ? record.createdAt : Math.max(record.createdAt, route.liveSince),
      spa: route.spa ?? (this.vfs.lookup(deployId, "/200.html") ? "/200.html" : null),
    };
  }

  private resolve(ctx: DeployContext, rawPath: string, query: string): Entry {
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return BAD_REQUEST_ENTRY;
    }
    if (!isSafePath(path)) return BAD_REQUEST_ENTRY;
    const params = ctx.rules.queryDependent && query !== "" ? new URLSearchParams(query) : null;
    const rule = ctx.rules.redirects.length > 0 ? matchRedirect(ctx.rules, path, params) : null;
    if (rule?.rule.force) return this.applyRule(ctx, path, rule.rule, rule.params);
    const found = this.resolveStatic(ctx, path, rawPath);
    if (found) return found;
    if (rule) return this.applyRule(ctx, path, rule.rule, rule.params);
    return this.fallback(ctx, path);
  }

  private find(ctx: DeployContext, path: string): FileMeta | null {
    return HIDDEN.has(path) ? null : this.vfs.lookup(ctx.deployId, path);
  }

  /** The deploy's own files: index.html, clean URLs, directory slash. */
  private resolveStatic(ctx: DeployContext, path: string, rawPath: string): Entry | null {
    if (path.endsWith("/")) {
      const index = this.find(ctx, path + "index.html");
      return index ? this.fileEntry(ctx, path, path + "index.html", index, 200) : null;
    }
    // A file's own name always works too (/about.html, /dir/index.html): no redirect to the clean URL.
    const exact = this.find(ctx, path);
    if (exact) return this.fileEntry(ctx, path, path, exact, 200);
    const html = this.find(ctx, path + ".html");
    if (html) return this.fileEntry(ctx, path, path + ".html", html, 200);
    if (this.find(ctx, path + "/index.html")) return redirect(301, rawPath + "/");
    return null;
  }

  /** A rewrite or error-page target: a file path, its index.html or its .html. */
  private findTarget(ctx: DeployContext, target: string): { path: string; meta: FileMeta } | null {
    let path = target.split("?")[0]!;
    try {
      path = decodeURIComponent(path);
    } catch {
      return null;
    }
    const candidates = path.endsWith("/") ? [path + "index.html"] : [path, path + ".html", path + "/index.html"];
    for (const p of candidates) {
      const meta = this.find(ctx, p);
      if (meta) return { path: p, meta };
    }
    return null;
  }

  private applyRule(ctx: DeployContext, path: string, rule: { to: string; status: number; query: unknown[] }, params: Params): Entry {
    const to = substitute(rule.to, params);
    if (rule.status === 200 || rule.status === 404 || rule.status === 410) {
      const target = this.findTarget(ctx, to);
      if (target) return this.fileEntry(ctx, path, target.path, target.meta, rule.status);
      return rule.status === 200 ? this.fallback(ctx, path) : NOT_FOUND_ENTRY;
    }
    return { kind: "redirect", status: rule.status, location: to, appendQuery: rule.query.length === 0 && !to.includes("?"), bytes: ENTRY_OVERHEAD };
  }

  /** Nothing matched: the SPA page (for extension-less paths), else the nearest 404.html. */
  private fallback(ctx: DeployContext, path: string): Entry {
    const last = path.slice(path.lastIndexOf("/") + 1);
    if (ctx.spa && !last.includes(".")) {
      const spa = this.find(ctx, ctx.spa);
      if (spa) return this.fileEntry(ctx, path, ctx.spa, spa, 200);
    }
    let dir = path.slice(0, path.lastIndexOf("/") + 1);
    for (;;) {
      const page = this.find(ctx, dir + "404.html");
      if (page) return this.fileEntry(ctx, path, dir + "404.html", page, 404);
      if (dir === "/" || dir === "") return NOT_FOUND_ENTRY;
      dir = dir.slice(0, dir.lastIndexOf("/", dir.length - 2) + 1);
    }
  }

  /** Everything needed to answer with a file: headers per encoding, small bodies in memory. */
  private fileEntry(ctx: DeployContext, requestPath: string, filePath: string, meta: FileMeta, status: number): FileEntry {
    const tag = meta.hash.slice(0, 32);
    const variants = this.vfs.variants(meta.blobId);
    const lastModifiedHttp = new Date(ctx.lastModified).toUTCString();
    const common: Record<string, string> = {
      "content-type": contentType(meta.mime),
      "cache-control": status === 200 && meta.immutable === 1 ? IMMUTABLE : REVALIDATE,
      "last-modified": lastModifiedHttp,
      "x-content-type-options": "nosniff",
    };
    if (variants.length > 0) common.vary = "Accept-Encoding";
    for (const [k, v] of headersFor(ctx.rules, requestPath)) common[k] = v;
    const entry: FileEntry = {
      kind: "file",
      status,
      bytes: ENTRY_OVERHEAD,
      pathClass: pathClassOf(meta.mime),
      tag,
      lastModified: ctx.lastModified,
      lastModifiedHttp,
      available: 0,
      reprs: [],
    };
    const add = (index: number, src: { blobId: number; size: number; chunks: number }, encoding: string | null) => {
      const etag = `"${tag}${encoding === "br" ? "-br" : encoding === "gzip" ? "-gz" : ""}"`;
      const headers: Record<string, string> = { ...common, etag, "content-length": String(src.size) };
      if (encoding) headers["content-encoding"] = encoding;
      else if (status === 200) headers["accept-ranges"] = "bytes";
      const small = src.size <= SMALL_FILE_MAX;
      const body = small ? this.vfs.readAll(src) : null;
      // A 304 carries what updates the client's stored copy (RFC 9110 15.4.5): the ETag, not Last-Modified
      // (the stored copy keeps its own); every header Bun writes costs ~1% of a 304's throughput.
      const { "content-length": _l, "content-type": _t, "content-encoding": _e, "accept-ranges": _a, "last-modified": _m, ...validators } = headers;
      entry.reprs[index] = {
        ...src,
        etag,
        headers,
        body,
        ok: body ? new Response(body, { status, headers }) : null,
        notModified: new Response(null, { status: 304, headers: validators }),
      };
      entry.bytes += body ? body.length : 0;
    };
    add(0, meta, null);
    for (const v of variants) {
      const bit = v.encoding === "br" ? ENC_BR : ENC_GZIP;
      add(bit, v, v.encoding);
      entry.available |= bit;
    }
    return entry;
  }
}

function redirect(status: number, location: string): RedirectEntry {
  return { kind: "redirect", status, location, appendQuery: true, bytes: ENTRY_OVERHEAD };
}

/** Decoded paths must be absolute, without NUL, backslash or dot segments. */
function isSafePath(path: string): boolean {
  if (!path.startsWith("/") || path.includes("\0") || path.includes("\\")) return false;
  return !/\/\.\.?(\/|$)/.test(path);
}
