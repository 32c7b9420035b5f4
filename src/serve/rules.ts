// `_redirects` and `_headers` in Netlify syntax: parsed once at deploy time
// (a malformed line fails the deploy with its line number), stored as JSON
// in deploys.config, compiled to matchers when the deploy is first served.

import { VfsError } from "../vfs/errors.ts";

export interface RedirectRule {
  line: number;
  from: string;
  /** Query conditions: [name, ":placeholder" or literal value]. */
  query: [string, string][];
  to: string;
  status: number;
  force: boolean;
}

export interface HeaderRule {
  line: number;
  path: string;
  headers: [string, string][];
}

export interface SiteRules {
  redirects: RedirectRule[];
  headers: HeaderRule[];
}

/** A malformed rules file: the deploy fails with 400 and this message. */
export class RulesError extends VfsError {
  constructor(
    readonly file: "_redirects" | "_headers",
    readonly line: number,
    reason: string,
  ) {
    super(400, "invalid_rules", `${file} line ${line}: ${reason}`);
  }
}

const REDIRECT_STATUSES = new Set([200, 301, 302, 303, 307, 308, 404, 410]);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Headers the server owns: overriding them would break framing or encoding.
const RESERVED_HEADERS = new Set(["content-length", "content-encoding", "transfer-encoding", "content-range", "connection", "etag"]);

function lines(text: string): string[] {
  return text.replace(/^\uFEFF/, "").split(/\r?\n/);
}

function checkPath(file: "_redirects" | "_headers", line: number, path: string, what: string): void {
  if (!path.startsWith("/")) throw new RulesError(file, line, `${what} "${path}" must be a path starting with /`);
  if (/[\s\0]/.test(path)) throw new RulesError(file, line, `${what} "${path}" contains whitespace or NUL`);
}

export function parseRedirects(text: string): RedirectRule[] {
  const rules: RedirectRule[] = [];
  lines(text).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const parts = trimmed.split(/\s+/);
    const from = parts.shift()!;
    checkPath("_redirects", line, from, "source");
    const query: [string, string][] = [];
    while (parts.length > 0 && !parts[0]!.startsWith("/") && !/^https?:\/\//i.test(parts[0]!) && parts[0]!.includes("=")) {
      const [name, ...value] = parts.shift()!.split("=");
      if (!name) throw new RulesError("_redirects", line, "query condition needs a name before =");
      query.push([name, value.join("=")]);
    }
    const to = parts.shift();
    if (to === undefined) throw new RulesError("_redirects", line, "missing destination");
    const absolute = /^https?:\/\/[^/\s]+/i.test(to);
    if (!absolute) checkPath("_redirects", line, to, "destination");
    let status = 301;
    let force = false;
    const code = parts.shift();
    if (code !== undefined) {
      const m = /^(\d{3})(!?)$/.exec(code);
      if (!m || !REDIRECT_STATUSES.has(Number(m[1]))) {
        throw new RulesError("_redirects", line, `"${code}" is not a supported status (200, 301, 302, 303, 307, 308, 404, 410, optionally followed by !)`);
      }
      status = Number(m[1]);
      force = m[2] === "!";
    }
    if (parts.length > 0) throw new RulesError("_redirects", line, `unsupported extra fields "${parts.join(" ")}" (conditions are not supported)`);
    if (absolute && (status === 200 || status === 404 || status === 410)) {
      throw new RulesError("_redirects", line, `status ${status} needs a local path as destination (proxying is not supported)`);
    }
    rules.push({ line, from, query, to, status, force });
  });
  return rules;
}

export function parseHeaders(text: string): HeaderRule[] {
  const rules: HeaderRule[] = [];
  let current: HeaderRule | null = null;
  lines(text).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    const indented = /^\s/.test(raw);
    if (!indented) {
      checkPath("_headers", line, trimmed, "path");
      current = { line, path: trimmed, headers: [] };
      rules.push(current);
      return;
    }
    if (!current) throw new RulesError("_headers", line, "header line before any path line");
    const colon = trimmed.indexOf(":");
    if (colon <= 0) throw new RulesError("_headers", line, `expected "Name: value", got "${trimmed}"`);
    const name = trimmed.slice(0, colon).trim();
    const value = trimmed.slice(colon + 1).trim();
    if (!HEADER_NAME.test(name)) throw new RulesError("_headers", line, `"${name}" is not a valid header name`);
    if (RESERVED_HEADERS.has(name.toLowerCase())) throw new RulesError("_headers", line, `header "${name}" is set by the server and cannot be overridden`);
    if (/[\0\r\n]/.test(value)) throw new RulesError("_headers", line, "header value contains a control character");
    (current as HeaderRule).headers.push([name.toLowerCase(), value]);
  });
  for (const r of rules) if (r.headers.length === 0) throw new RulesError("_headers", r.line, `path "${r.path}" has no headers`);
  return rules;
}

/** The rules of a deploy from its `_redirects` and `_headers` files (read through `text`). */
export function deployRules<E extends { path: string }>(entries: readonly E[], text: (entry: E) => string): SiteRules {
  const redirects = entries.find((e) => e.path === "/_redirects");
  const headers = entries.find((e) => e.path === "/_headers");
  return {
    redirects: redirects ? parseRedirects(text(redirects)) : [],
    headers: headers ? parseHeaders(text(headers)) : [],
  };
}

// ---- matching -------------------------------------------------------------

export type Params = Map<string, string>;

/**
 * A path pattern: literal segments, ":name" (one segment) and "*" (the rest,
 * captured as "splat"). Trailing slashes are ignored on both sides.
 */
export class PathPattern {
  private readonly re: RegExp;
  private readonly names: string[] = [];

  constructor(pattern: string) {
    let src = "";
    const p = stripSlash(pattern);
    for (let i = 0; i < p.length; ) {
      const ch = p[i]!;
      if (ch === "*") {
        // "/x/*" also matches "/x" itself.
        if (src.endsWith("/") && i === p.length - 1) src = src.slice(0, -1) + "(?:/(.*))?";
        else src += "(.*)";
        this.names.push("splat");
        i++;
      } else if (ch === ":" && (i === 0 || p[i - 1] === "/") && /[A-Za-z_]/.test(p[i + 1] ?? "")) {
        const m = /^:([A-Za-z_][A-Za-z0-9_]*)/.exec(p.slice(i))!;
        src += "([^/]+)";
        this.names.push(m[1]!);
        i += m[0].length;
      } else {
        src += ch.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
        i++;
      }
    }
    this.re = new RegExp(`^${src}$`);
  }

  match(path: string): Params | null {
    const m = this.re.exec(stripSlash(path));
    if (!m) return null;
    const params: Params = new Map();
    this.names.forEach((n, i) => params.set(n, m[i + 1] ?? ""));
    return params;
  }
}

function stripSlash(p: string): string {
  return p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p;
}

export interface CompiledRedirect extends RedirectRule {
  pattern: PathPattern;
}

export interface CompiledRules {
  redirects: CompiledRedirect[];
  headers: { pattern: PathPattern; headers: [string, string][] }[];
  /** True when some redirect depends on the query string. */
  queryDependent: boolean;
  /** Source patterns of the rules with query conditions. */
  queryPatterns: PathPattern[];
}

export function compileRules(rules: Partial<SiteRules>): CompiledRules {
  const redirects = (rules.redirects ?? []).map((r) => ({ ...r, pattern: new PathPattern(r.from) }));
  return {
    redirects,
    headers: (rules.headers ?? []).map((r) => ({ pattern: new PathPattern(r.path), headers: r.headers })),
    queryDependent: redirects.some((r) => r.query.length > 0),
    queryPatterns: redirects.filter((r) => r.query.length > 0).map((r) => r.pattern),
  };
}

/** Whether the answer for this raw path can depend on the query string. */
export function queryMatters(rules: CompiledRules, rawPath: string): boolean {
  if (!rules.queryDependent) return false;
  let path = rawPath;
  try {
    path = decodeURIComponent(rawPath);
  } catch {}
  return rules.queryPatterns.some((p) => p.match(path) !== null);
}

/** The first redirect rule matching the path (and query), with its parameters. */
export function matchRedirect(rules: CompiledRules, path: string, query: URLSearchParams | null): { rule: CompiledRedirect; params: Params } | null {
  for (const rule of rules.redirects) {
    const params = rule.pattern.match(path);
    if (!params) continue;
    if (rule.query.length > 0 && !matchQuery(rule.query, query, params)) continue;
    return { rule, params };
  }
  return null;
}

function matchQuery(conds: [string, string][], query: URLSearchParams | null, params: Params): boolean {
  if (!query) return false;
  for (const [name, want] of conds) {
    const got = query.get(name);
    if (got === null) return false;
    if (want.startsWith(":")) params.set(want.slice(1), got);
    else if (want !== got) return false;
  }
  return true;
}

/** Substitute ":name" and ":splat" in a destination; values are re-encoded for a URL. */
export function substitute(to: string, params: Params): string {
  if (params.size === 0) return to;
  return to.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (all, name: string) => {
    const v = params.get(name);
    return v === undefined ? all : encodeURI(v).replace(/[?#]/g, encodeURIComponent);
  });
}

/** Every header from every matching rule; the same header from several rules is joined with ", ". */
export function headersFor(rules: CompiledRules, path: string): [string, string][] {
  const out = new Map<string, string>();
  for (const r of rules.headers) {
    if (!r.pattern.match(path)) continue;
    for (const [k, v] of r.headers) {
      const prev = out.get(k);
      out.set(k, prev === undefined ? v : `${prev}, ${v}`);
    }
  }
  return [...out];
}
