// HTTP details of file responses: validators, ranges, content negotiation,
// content type and cache policy values. Pure functions, no I/O.

/** Where the path starts in a request URL as Bun gives it (`http://host/path?query`). */
export function pathStart(url: string): number {
  return url.indexOf("/", url.indexOf("//") + 2);
}

/**
 * What an answer carries, for analytics: documents (HTML) are page views and
 * need the visitor; the other classes are only counted (per site, class,
 * status and hour). Numbers, so counting needs no string; index into PATH_CLASSES.
 */
export const PATH_CLASSES = ["page", "script", "style", "image", "font", "media", "data", "other", "none"] as const;
export const CLASS_PAGE = 0;
/** No file: redirects, plain 404s, 400 and 405 answers. */
export const CLASS_NONE = 8;

export function pathClassOf(mime: string): number {
  if (mime.startsWith("text/html") || mime.startsWith("application/xhtml")) return CLASS_PAGE;
  if (mime.includes("javascript") || mime.startsWith("application/wasm")) return 1;
  if (mime.startsWith("text/css")) return 2;
  if (mime.startsWith("image/")) return 3;
  if (mime.startsWith("font/") || mime.includes("font")) return 4;
  if (mime.startsWith("video/") || mime.startsWith("audio/")) return 5;
  if (mime.includes("json") || mime.includes("xml") || mime.startsWith("text/")) return 6;
  return 7;
}

/** Encodings a file can be served in, as bits. */
export const ENC_BR = 1;
export const ENC_GZIP = 2;

/**
 * Weak comparison of an If-None-Match value against a content hash: "*",
 * a list, W/ prefixes and our "-br"/"-gz" representation suffixes all count.
 */
export function etagMatches(header: string, tag: string): boolean {
  if (header === "*") return true;
  for (let item of header.split(",")) {
    item = item.trim();
    if (item === "*") return true;
    if (item.startsWith("W/")) item = item.slice(2);
    if (item.length < 2 || item[0] !== '"' || item[item.length - 1] !== '"') continue;
    item = item.slice(1, -1);
    if (item.endsWith("-br") || item.endsWith("-gz")) item = item.slice(0, -3);
    if (item === tag) return true;
  }
  return false;
}

type RangeResult = { start: number; end: number } | "unsatisfiable" | null;

/**
 * A single "bytes=" range against a size. null: no usable range (serve the
 * whole file): absent, malformed, another unit or several ranges.
 */
export function parseRange(header: string, size: number): RangeResult {
  const m = /^bytes=\s*(\d*)\s*-\s*(\d*)\s*$/.exec(header);
  if (!m) return null;
  const [, a, b] = m as unknown as [string, string, string];
  if (a === "" && b === "") return null;
  if (a === "") {
    const n = Number(b);
    if (n === 0) return "unsatisfiable";
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  if (b !== "" && Number(b) < start) return null;
  if (start >= size) return "unsatisfiable";
  const end = b === "" ? size - 1 : Number(b);
  return { start, end: Math.min(end, size - 1) };
}

const acceptCache = new Map<string, number>();

/** The encodings (ENC_* bits) an Accept-Encoding value accepts, q=0 excluded; br preferred when q ties. */
export function acceptedEncodings(header: string | null): number {
  if (!header) return 0;
  const hit = acceptCache.get(header);
  if (hit !== undefined) return hit;
  let qBr = -1;
  let qGz = -1;
  let qAny = -1;
  for (const part of header.split(",")) {
    const [rawName, ...params] = part.split(";");
    const name = rawName!.trim().toLowerCase();
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split("=");
      if (k?.trim().toLowerCase() === "q") q = Number(v) || 0;
    }
    if (name === "br") qBr = q;
    else if (name === "gzip" || name === "x-gzip") qGz = q;
    else if (name === "*") qAny = q;
  }
  if (qBr < 0) qBr = qAny;
  if (qGz < 0) qGz = qAny;
  const result = (qBr > 0 ? ENC_BR : 0) | (qGz > 0 ? ENC_GZIP : 0) | (qGz > qBr ? 4 : 0);
  if (acceptCache.size > 256) acceptCache.clear();
  acceptCache.set(header, result);
  return result;
}

/** The encoding to send given what the client accepts and what exists. */
export function chooseEncoding(accepted: number, available: number): number {
  const both = accepted & available;
  if (both === (ENC_BR | ENC_GZIP)) return accepted & 4 ? ENC_GZIP : ENC_BR;
  return both & (ENC_BR | ENC_GZIP);
}

const TEXTUAL = /^(text\/|application\/(javascript|json|xml|manifest\+json|ld\+json|x-javascript)|image\/svg\+xml)/;

/** The Content-Type to send: text types get charset=utf-8 unless they name one. */
export function contentType(mime: string): string {
  if (!TEXTUAL.test(mime) || mime.includes("charset=")) return mime;
  return `${mime}; charset=utf-8`;
}

export const REVALIDATE = "public, max-age=0, must-revalidate";
/** For fingerprinted files; which ones is decided at deploy time (src/vfs/fingerprints.ts). */
export const IMMUTABLE = "public, max-age=31536000, immutable";

/** If-Modified-Since: true when the client's copy is at least as new (second precision). */
export function notModifiedSince(header: string, lastModifiedMs: number): boolean {
  const t = Date.parse(header);
  return !Number.isNaN(t) && Math.floor(lastModifiedMs / 1000) * 1000 <= t;
}
