// Serving a site's files: path resolution (docs/SERVING.md), `_redirects`
// and `_headers`, conditional and range requests, precompressed variants.
//
// The hot path: a request's (deploy, path) is resolved once; the result is
// kept in a bytes-bounded cache with ready Responses for small files (their
// bodies, variants and 304s), cloned per request. Misses cost a few indexed
// SQL lookups. Big files stream chunk rows with backpressure.
import type { VfsReader, FileMeta } from "../vfs/read.ts";
import type { Server } from "bun";
import type { HostRoute, SiteRoute } from "./routes.ts";
import { gateFor, GRANTED, PRIVATE, Protection, type Gate } from "./protect.ts";
import { ByteCache, type Slot } from "./cache.ts";
import { compileRules, headersFor, matchRedirect, queryMatters, splitPath, substitute } from "./rules.ts";
import type { CompiledRules, Params, SplitPath } from "./rules.ts";
import type { SiteRules } from "../vfs/rules.ts";
import type { TrailingSlash } from "../sites/index.ts";
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
/**
 * Answers for paths an attacker can vary freely (404s, SPA and rule
 * fallbacks, splat rules, non-canonical encodings, query-dependent keys)
 * live in their own small cache, so they never evict a site's files.
 */
const MISS_CACHE_BYTES = 4 * 1024 * 1024;
/** Longer keys are not remembered as misses at all. */
const MISS_KEY_MAX = 2048;
/** Bookkeeping bytes charged per cache entry besides its key and body. */
const ENTRY_OVERHEAD = 512;
/** Request path bounds (raw, percent-encoded characters; decoded segments), checked before any lookup. */
const MAX_PATH_CHARS = 8192;
const MAX_PATH_SEGMENTS = 256;
/** Compiled rules and 404 page directories of this many deploys (and this much weight) are kept across cache resets. */
const DEPLOY_DATA_MAX = 256;
const DEPLOY_DATA_WEIGHT = 16 * 1024 * 1024;
/** Compiled rules hold about 7 bytes of memory per character of their stored JSON (10,000 rules: ~6 MB). */
const COMPILED_BYTES_PER_CHAR = 8;
const HIDDEN = new Set(["/_redirects", "/_headers"]);

const NOT_FOUND_HTML = "<!doctype html><title>404 Not Found</title><h1>404 Not Found</h1>\n";
const PLAIN_HEADERS = { "content-type": "text/html; charset=utf-8", "x-content-type-options": "nosniff", "cache-control": REVALIDATE };

/** Cloned per answer: building a Response from a headers object costs more than the clone (404 scans are common). */
const NOT_FOUND = new Response(NOT_FOUND_HTML, { status: 404, headers: PLAIN_HEADERS });

export function notFound(): Response {
  return NOT_FOUND.clone() as Response;
}

type HeaderList = [string, string][];

function plain(status: number, text: string, extra?: HeaderList | null): Response {
  const headers: HeaderList = [
    ["content-type", "text/plain; charset=utf-8"],
    ["x-content-type-options", "nosniff"],
  ];
  if (extra) headers.push(...extra);
  return new Response(text, { status, headers });
}

/** One representation of a file: identity, br or gzip. */
interface Repr {
  blobId: number;
  size: number;
  chunks: number;
  etag: string;
  headers: HeaderList;
  /** Small files: the bytes and ready responses to clone. */
  body: Uint8Array | null;
  ok: Response | null;
  notModified: Response;
}

interface FileEntry {
  kind: "file";
  status: number;
  /** Bytes held (bodies and bookkeeping). */
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
  location: string;
  /** Carry the request's query string over (when the target has none). */
  appendQuery: boolean;
}

interface PlainEntry {
  kind: "notfound" | "badrequest" | "toolong";
}

type Entry = FileEntry | RedirectEntry | PlainEntry;

const NOT_FOUND_ENTRY: PlainEntry = { kind: "notfound" };
const BAD_REQUEST_ENTRY: PlainEntry = { kind: "badrequest" };
const TOO_LONG_ENTRY: PlainEntry = { kind: "toolong" };

/** What a deploy needs besides its files, computed once per deploy and kept across cache resets (deploys never change). */
interface DeployData {
  rules: CompiledRules;
  /** Directories holding a 404.html ("/", "/docs/"), and the longest of them. */
  notFoundDirs: Set<string>;
  notFoundDirMax: number;
  weight: number;
}

/** What serving one deploy (as live or as preview) needs besides its files. */
interface DeployContext {
  deployId: string;
  /** Resolved (raw path [+ query]) -> entry: paths that name one file or literal rule, in the shared byte budget. */
  entries: Map<string, Slot<Entry>>;
  /** The same for answers to arbitrary paths, in the small miss budget. */
  misses: Map<string, Slot<Entry>>;
  /** File answers by (status, file, matching _headers rules): many paths share one (SPA page, 404 page, rewrites). */
  files: Map<string, Slot<Entry>>;
  data: DeployData;
  lastModified: number;
  spa: string | null;
  /** The site's settings, decided once per context (a settings change rebuilds every context). */
  trailingSlash: TrailingSlash;
  notFoundPage: string | null;
  /** The site's default headers (lower-case names), or null: answers then cost nothing more. */
  siteHeaders: HeaderList | null;
  /** The plain 404 of this context (with the site's headers), cloned per answer. */
  notFound: Response;
  /** What protects this site and deploy, or null: nothing to check per request. */
  gate: Gate | null;
}

/**
 * The answer to one site request and what analytics needs of it. handle() fills
 * and returns one instance per handler (no allocation per request): read it
 * before the next handle() call (handle is synchronous).
 */
interface Served {
  response: Response;
  status: number;
  /** Body bytes sent (0 for HEAD, 304 and empty bodies). */
  bytes: number;
  /** PATH_CLASSES index: the served file's type, CLASS_NONE when no file was served. */
  pathClass: number;
  /**
   * Set when a protected request waits for a password check (on the thread
   * pool): the answer then comes from this instead (the fields above are unused).
   */
  pending: Promise<Served> | null;
}

/** Not checked yet (the request's protection, if any, is checked in answer). */
const UNCHECKED = -1;

/** Placeholder while `pending`; never sent. */
const PENDING = new Response(null, { status: 503 });

const NO_PROTECTION = new Protection({ tokenOpens: () => false, client: () => "unknown" });

export class SiteHandler {
  private readonly cache: ByteCache<Entry>;
  private readonly misses = new ByteCache<Entry>(MISS_CACHE_BYTES);
  /** Per route object (the routing table hands out one per distinct Host header)... */
  private contexts = new WeakMap<SiteRoute, DeployContext | null>();
  /** ...shared by every host that leads to the same deploy (live or preview). */
  private byDeploy = new Map<string, DeployContext | null>();
  /** Per deploy id, oldest first: survives invalidate(). */
  private readonly deployData = new Map<string, DeployData>();
  private deployDataWeight = 0;
  private readonly served: Served = { response: NOT_FOUND, status: 0, bytes: 0, pathClass: CLASS_NONE, pending: null };

  constructor(
    private readonly vfs: VfsReader,
    cacheBytes = DEFAULT_CACHE_BYTES,
    private readonly protection = NO_PROTECTION,
  ) {
    this.cache = new ByteCache(cacheBytes);
  }

  /**
   * Lookups so far and what the caches hold (for /metrics): hits in either
   * cache, misses = paths resolved; bytes and entries of the main cache and of
   * the cache for answers to arbitrary paths.
   */
  cacheStats(): { hits: number; misses: number; bytes: number; entries: number; missBytes: number; missEntries: number } {
    const { cache, misses } = this;
    return {
      hits: cache.hits + misses.hits,
      misses: misses.misses,
      bytes: cache.bytes,
      entries: cache.size,
      missBytes: misses.bytes,
      missEntries: misses.size,
    };
  }

  /** Forget everything resolved: live deploys or stored variants changed. */
  invalidate(): void {
    this.cache.clear();
    this.misses.clear();
    this.contexts = new WeakMap();
    this.byDeploy.clear();
  }

  handle(req: Request, route: HostRoute, server: Server<undefined> | null = null, checked = UNCHECKED): Served {
    const served = this.served;
    served.bytes = 0;
    served.pathClass = CLASS_NONE;
    served.pending = null;
    const response = this.answer(req, route, server, checked);
    served.response = response;
    served.status = response.status;
    return served;
  }

  /** POST /.fazt/login on a site host: the site's sign-in form. */
  login(req: Request, route: HostRoute, server: Server<undefined> | null): Promise<Response> {
    const ctx = route.deployId === null ? null : this.contextOf(route, route.deployId);
    return this.protection.login(req, ctx?.gate ?? null, route.host, server);
  }

  /** The answer once a password check finished: a copy, since `served` belongs to the next request by then. */
  private afterCheck(req: Request, route: HostRoute, server: Server<undefined> | null, result: number | Response): Served {
    if (result instanceof Response) return { response: result, status: result.status, bytes: 0, pathClass: CLASS_NONE, pending: null };
    return { ...this.handle(req, route, server, result) };
  }

  private contextOf(route: SiteRoute, deployId: string): DeployContext | null {
    let ctx = this.contexts.get(route);
    if (ctx === undefined) this.contexts.set(route, (ctx = this.context(route, deployId)));
    return ctx;
  }

  private answer(req: Request, route: HostRoute, server: Server<undefined> | null, checked: number): Response {
    const method = req.method;
    const head = method === "HEAD";
    if (route.deployId === null) return head || method === "GET" ? this.notFound(NOT_FOUND) : this.notAllowed(null);
    const ctx = this.contextOf(route, route.deployId);
    if (ctx === null) return head || method === "GET" ? this.notFound(NOT_FOUND) : this.notAllowed(null);
    if (!head && method !== "GET") return this.notAllowed(ctx);
    const url = req.url;
    const start = pathStart(url);
    const q = url.indexOf("?", start);
    const rawPath = q < 0 ? url.slice(start) : url.slice(start, q);
    if (rawPath.length > MAX_PATH_CHARS) return this.plain(414, `path longer than ${MAX_PATH_CHARS} characters\n`, ctx.siteHeaders);
    const query = q < 0 ? "" : url.slice(q + 1);
    if (ctx.gate === null) return this.answerPath(req, ctx, head, rawPath, query);
    // Protected: the decision is made per request, before any cached answer is used.
    const check = checked === UNCHECKED ? this.protection.check(req, ctx.gate, route.host, rawPath, query, server) : checked;
    if (check instanceof Response) return check;
    if (check instanceof Promise) {
      this.served.pending = check.then((result) => this.afterCheck(req, route, server, result));
      return PENDING; // not sent: the server answers from `pending`
    }
    const response = this.answerPath(req, ctx, head, rawPath, query);
    // Shared caches must never keep an answer that needed a password.
    if (check === GRANTED) response.headers.set("cache-control", PRIVATE);
    return response;
  }

  private answerPath(req: Request, ctx: DeployContext, head: boolean, rawPath: string, query: string): Response {
    // Only paths that a rule with query conditions matches are remembered per query string.
    const key = query !== "" && queryMatters(ctx.data.rules, rawPath) ? `${rawPath}?${query}` : rawPath;
    const entry = this.cache.get(ctx.entries, key) ?? this.misses.get(ctx.misses, key) ?? this.remember(ctx, key, rawPath, query);
    if (entry.kind === "file") {
      this.served.pathClass = entry.pathClass;
      return this.file(req.headers, entry, head);
    }
    if (entry.kind === "redirect") {
      const location = entry.appendQuery && query !== "" ? `${entry.location}?${query}` : entry.location;
      const headers: HeaderList = [
        ["location", location],
        ["cache-control", REVALIDATE],
        ["x-content-type-options", "nosniff"],
      ];
      if (ctx.siteHeaders) headers.push(...ctx.siteHeaders);
      return new Response(null, { status: entry.status, headers });
    }
    if (entry.kind === "toolong") return this.plain(414, `path has more than ${MAX_PATH_SEGMENTS} segments\n`, ctx.siteHeaders);
    return entry.kind === "notfound" ? this.notFound(ctx.notFound) : this.plain(400, "bad request\n", ctx.siteHeaders);
  }

  private notAllowed(ctx: DeployContext | null): Response {
    return this.plain(405, "method not allowed\n", [["allow", "GET, HEAD"], ...(ctx?.siteHeaders ?? [])]);
  }

  /** Resolve a key and keep the answer: in the main cache when the path names one thing, else among the misses. */
  private remember(ctx: DeployContext, key: string, rawPath: string, query: string): Entry {
    const [entry, exact] = this.resolve(ctx, rawPath, query);
    const bytes = ENTRY_OVERHEAD + (entry.kind === "redirect" ? entry.location.length : 0);
    if (exact && key === rawPath) this.cache.set(ctx.entries, key, entry, bytes);
    else if (key.length <= MISS_KEY_MAX) this.misses.set(ctx.misses, key, entry, bytes);
    return entry;
  }

  // ---- per-request answer from a resolved entry ---------------------------

  /** A file's answer: the representation the client accepts, then conditionals, then ranges. */
  private file(request: Headers, entry: FileEntry, head: boolean): Response {
    // Files without variants need no look at Accept-Encoding.
    const repr =
      entry.available === 0
        ? entry.reprs[0]!
        : entry.reprs[chooseEncoding(acceptedEncodings(request.get("accept-encoding")), entry.available)]!;
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

  private notFound(page: Response): Response {
    this.served.bytes = NOT_FOUND_HTML.length;
    return page.clone() as Response;
  }

  private plain(status: number, text: string, extra?: HeaderList | null): Response {
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
      return this.plain(416, "range not satisfiable\n", [
        ["content-range", `bytes */${id.size}`],
        ["etag", id.etag],
      ]);
    }
    const headers: HeaderList = [
      ...id.headers.filter(([k]) => k !== "content-length"),
      ["content-range", `bytes ${r.start}-${r.end}/${id.size}`],
      ["content-length", String(r.end - r.start + 1)],
    ];
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
    const data = record && this.loadDeployData(deployId);
    if (!record || !data) return null;
    const settings = route.settings;
    const siteHeaders = siteHeaderList(settings.headers);
    return {
      deployId,
      entries: this.cache.newMap(),
      misses: this.misses.newMap(),
      files: this.cache.newMap(),
      data,
      lastModified: route.preview ? record.createdAt : Math.max(record.createdAt, route.liveSince),
      spa: route.spa ?? (this.vfs.lookup(deployId, "/200.html") ? "/200.html" : null),
      trailingSlash: settings.trailingSlash,
      notFoundPage: settings.notFound,
      siteHeaders,
      notFound: siteHeaders
        ? new Response(NOT_FOUND_HTML, { status: 404, headers: [...Object.entries(PLAIN_HEADERS), ...siteHeaders] })
        : NOT_FOUND,
      gate: gateFor(route, data.rules.auth),
    };
  }

  /** A deploy's compiled rules and 404 page directories: made once per deploy, kept while the budget allows. */
  private loadDeployData(deployId: string): DeployData | null {
    const kept = this.deployData.get(deployId);
    if (kept) {
      this.deployData.delete(deployId); // move to the young end
      this.deployData.set(deployId, kept);
      return kept;
    }
    const config = this.vfs.deployConfig(deployId);
    if (config === null) return null;
    const pages = this.vfs.notFoundPages(deployId);
    const notFoundDirs = new Set(pages.map((p) => p.slice(0, -"404.html".length)));
    const data: DeployData = {
      rules: compileRules(JSON.parse(config) as Partial<SiteRules>),
      notFoundDirs,
      notFoundDirMax: [...notFoundDirs].reduce((n, d) => Math.max(n, d.length), 0),
      weight: COMPILED_BYTES_PER_CHAR * config.length + pages.reduce((n, p) => n + p.length, 1024),
    };
    this.deployData.set(deployId, data);
    this.deployDataWeight += data.weight;
    for (const [id, old] of this.deployData) {
      if (this.deployData.size <= DEPLOY_DATA_MAX && this.deployDataWeight <= DEPLOY_DATA_WEIGHT) break;
      if (id === deployId) break;
      this.deployData.delete(id);
      this.deployDataWeight -= old.weight;
    }
    return data;
  }

  /** The answer for a path, and whether it is exact: the path names one file or literal rule. */
  private resolve(ctx: DeployContext, rawPath: string, query: string): [Entry, boolean] {
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return [BAD_REQUEST_ENTRY, false];
    }
    if (!isSafePath(path)) return [BAD_REQUEST_ENTRY, false];
    const split = splitPath(path);
    if (split.segments.length > MAX_PATH_SEGMENTS) return [TOO_LONG_ENTRY, false];
    // Other spellings of the same path ("/%61bout") are answered alike but remembered among the misses.
    const canonical = rawPath === path || encodeURI(path) === rawPath;
    const rules = ctx.data.rules;
    const params = rules.queryDependent && query !== "" ? new URLSearchParams(query) : null;
    const rule = rules.redirects.length > 0 ? matchRedirect(rules, split, params) : null;
    if (rule?.rule.force) return [this.applyRule(ctx, split, rule.rule, rule.params), canonical && rule.literal];
    const found = this.resolveStatic(ctx, path, split, rawPath);
    if (found) return [found, canonical];
    if (rule) return [this.applyRule(ctx, split, rule.rule, rule.params), canonical && rule.literal];
    return [this.fallback(ctx, path, split), false];
  }

  private find(ctx: DeployContext, path: string): FileMeta | null {
    return HIDDEN.has(path) ? null : this.vfs.lookup(ctx.deployId, path);
  }

  /** The deploy's own files: index.html, clean URLs, directory slash. */
  private resolveStatic(ctx: DeployContext, path: string, split: SplitPath, rawPath: string): Entry | null {
    const mode = ctx.trailingSlash;
    if (path.endsWith("/")) {
      const index = this.find(ctx, `${path}index.html`);
      if (path === "/") return index ? this.fileEntry(ctx, split, "/index.html", index, 200) : null;
      if (mode === "never") {
        const target = index || this.find(ctx, `${path.slice(0, -1)}.html`);
        return target && rawPath.endsWith("/") ? redirect(301, rawPath.slice(0, -1)) : null;
      }
      if (index) return this.fileEntry(ctx, split, `${path}index.html`, index, 200);
      // always: /about/ is the address of /about.html.
      const html = mode === "always" ? this.find(ctx, `${path.slice(0, -1)}.html`) : null;
      return html ? this.fileEntry(ctx, split, `${path.slice(0, -1)}.html`, html, 200) : null;
    }
    // A file's own name always works too (/about.html, /dir/index.html): no redirect to the clean URL.
    const exact = this.find(ctx, path);
    if (exact) return this.fileEntry(ctx, split, path, exact, 200);
    const html = this.find(ctx, `${path}.html`);
    if (html) return mode === "always" ? redirect(301, `${rawPath}/`) : this.fileEntry(ctx, split, `${path}.html`, html, 200);
    const index = this.find(ctx, `${path}/index.html`);
    if (index) return mode === "never" ? this.fileEntry(ctx, split, `${path}/index.html`, index, 200) : redirect(301, `${rawPath}/`);
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
    const candidates = path.endsWith("/") ? [`${path}index.html`] : [path, `${path}.html`, `${path}/index.html`];
    for (const p of candidates) {
      const meta = this.find(ctx, p);
      if (meta) return { path: p, meta };
    }
    return null;
  }

  private applyRule(ctx: DeployContext, split: SplitPath, rule: { to: string; status: number; query: unknown[] }, params: Params): Entry {
    const to = substitute(rule.to, params);
    if (rule.status === 200 || rule.status === 404 || rule.status === 410) {
      const target = this.findTarget(ctx, to);
      if (target) return this.fileEntry(ctx, split, target.path, target.meta, rule.status);
      return rule.status === 200 ? this.fallback(ctx, split.path, split) : NOT_FOUND_ENTRY;
    }
    return { kind: "redirect", status: rule.status, location: to, appendQuery: rule.query.length === 0 && !to.includes("?") };
  }

  /** Nothing matched: the SPA page (for extension-less paths), else the nearest 404.html. */
  private fallback(ctx: DeployContext, path: string, split: SplitPath): Entry {
    const last = path.slice(path.lastIndexOf("/") + 1);
    if (ctx.spa && !last.includes(".")) {
      const spa = this.find(ctx, ctx.spa);
      if (spa) return this.fileEntry(ctx, split, ctx.spa, spa, 200);
    }
    if (ctx.notFoundPage !== null) {
      const page = this.findTarget(ctx, ctx.notFoundPage);
      if (page) return this.fileEntry(ctx, split, page.path, page.meta, 404);
    }
    const dir = nearestDir(ctx.data, path.slice(0, path.lastIndexOf("/") + 1));
    const page = dir === null ? null : this.find(ctx, `${dir}404.html`);
    return page ? this.fileEntry(ctx, split, `${dir}404.html`, page, 404) : NOT_FOUND_ENTRY;
  }

  /**
   * Everything needed to answer with a file: headers per encoding, small
   * bodies in memory. Shared by every path answered with the same file,
   * status and `_headers` rules (so a thousand SPA routes hold one copy).
   */
  private fileEntry(ctx: DeployContext, split: SplitPath, filePath: string, meta: FileMeta, status: number): FileEntry {
    const rules = headersFor(ctx.data.rules, split);
    const key = `${status} ${filePath} ${rules.key}`;
    const kept = this.cache.get(ctx.files, key);
    if (kept) return kept as FileEntry;
    const entry = this.buildFileEntry(ctx, rules.headers, meta, status);
    this.cache.set(ctx.files, key, entry, entry.bytes);
    return entry;
  }

  private buildFileEntry(ctx: DeployContext, custom: HeaderList, meta: FileMeta, status: number): FileEntry {
    const tag = meta.hash.slice(0, 32);
    const variants = this.vfs.variants(meta.blobId);
    const lastModifiedHttp = new Date(ctx.lastModified).toUTCString();
    const common = new Map<string, string>([
      ["content-type", contentType(meta.mime)],
      ["cache-control", status === 200 && meta.immutable === 1 ? IMMUTABLE : REVALIDATE],
      ["last-modified", lastModifiedHttp],
      ["x-content-type-options", "nosniff"],
    ]);
    if (variants.length > 0) common.set("vary", "Accept-Encoding");
    const cookies: HeaderList = [];
    // The site's default headers, then the deploy's _headers lines over them.
    for (const [k, v] of [...(ctx.siteHeaders ?? []), ...custom]) {
      if (k === "set-cookie") cookies.push([k, v]);
      else common.set(k, v);
    }
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
      const headers: HeaderList = [...common, ["etag", etag], ["content-length", String(src.size)], ...cookies];
      if (encoding) headers.push(["content-encoding", encoding]);
      else if (status === 200) headers.push(["accept-ranges", "bytes"]);
      const small = src.size <= SMALL_FILE_MAX;
      const body = small ? this.vfs.readAll(src) : null;
      // A 304 carries what updates the client's stored copy (RFC 9110 15.4.5): the ETag, not Last-Modified
      // (the stored copy keeps its own); every header Bun writes costs ~1% of a 304's throughput.
      const validators = headers.filter(([k]) => !NOT_ON_304.has(k));
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

const NOT_ON_304 = new Set(["content-length", "content-type", "content-encoding", "accept-ranges", "last-modified"]);

/**
 * The nearest directory holding a 404.html, walking up from dir ("/a/b/").
 * Only prefixes no longer than the longest such directory are looked at, in
 * memory: the cost does not depend on how deep the request path is.
 */
function nearestDir(data: DeployData, dir: string): string | null {
  if (data.notFoundDirs.size === 0) return null;
  let best: string | null = null;
  for (let end = dir.indexOf("/"); end >= 0 && end < data.notFoundDirMax; end = dir.indexOf("/", end + 1)) {
    const prefix = dir.slice(0, end + 1);
    if (data.notFoundDirs.has(prefix)) best = prefix;
  }
  return best;
}

/** A site's default headers as sent (lower-case names), or null when it has none. */
function siteHeaderList(headers: Record<string, string>): HeaderList | null {
  const list = Object.entries(headers).map(([k, v]): [string, string] => [k.toLowerCase(), v]);
  return list.length > 0 ? list : null;
}

function redirect(status: number, location: string): RedirectEntry {
  return { kind: "redirect", status, location, appendQuery: true };
}

/** Decoded paths must be absolute, without NUL, backslash or dot segments. */
function isSafePath(path: string): boolean {
  if (!path.startsWith("/") || path.includes("\0") || path.includes("\\")) return false;
  return !/\/\.\.?(\/|$)/.test(path);
}
