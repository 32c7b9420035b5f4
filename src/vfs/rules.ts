// `_redirects` and `_headers` in Netlify syntax, parsed and validated once at
// deploy time: a malformed or hostile line fails the deploy with 400 naming
// the file and line, nothing is written. The parsed rules are stored as JSON
// in deploys.config; src/serve/rules.ts compiles them for matching.
import { VfsError } from "./errors.ts";
import { headerProblem } from "../http/headers.ts";
import { hashPassword, isPasswordHash } from "../auth/passwords.ts";

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
  /** `Basic-Auth` credentials protecting the path: [user, password hash] (never a password). */
  auth?: [string, string][];
}

export interface SiteRules {
  redirects: RedirectRule[];
  headers: HeaderRule[];
}

type RulesFile = "_redirects" | "_headers";

/** A rules file's size, rule count and line length are bounded: a request never scans an unbounded list. */
export const RULES_LIMITS = {
  fileBytes: 1024 * 1024,
  rules: 10_000,
  /** Rules with a placeholder, glob or splat (the ones a request may have to try one by one). */
  dynamicRules: 1_000,
  lineChars: 2048,
  headersPerPath: 64,
  /** `Basic-Auth` credentials per `_headers` file: each costs a password hash at deploy. */
  credentials: 100,
};

/** A malformed rules file: the deploy fails with 400 and this message. */
export class RulesError extends VfsError {
  constructor(
    readonly file: RulesFile,
    readonly line: number,
    reason: string,
    code = "invalid_rules",
  ) {
    super(400, code, `${file} line ${line}: ${reason}`);
  }
}

// ---- path patterns ----------------------------------------------------------

/**
 * One segment of a source pattern. A pattern is split at "/" (a trailing
 * slash is ignored); a segment is literal text, a whole-segment ":name", a
 * glob with one "*" that stays inside one segment ("v*-old/"), or, as the
 * last segment, a splat "prefix*suffix" whose "*" matches the rest of the
 * path, slashes included ("/news/*", "/*.js").
 */
export type PatternSegment =
  | { kind: "literal"; text: string }
  | { kind: "param"; name: string }
  | { kind: "glob"; prefix: string; suffix: string }
  | { kind: "rest"; prefix: string; suffix: string };

const PARAM = /^:([A-Za-z_][A-Za-z0-9_]*)$/;

/** The segments of a source pattern, or why it is not one. */
export function parsePattern(pattern: string): PatternSegment[] | string {
  if (!pattern.startsWith("/")) return `"${pattern}" must be a path starting with /`;
  const p = pattern.length > 1 && pattern.endsWith("/") ? pattern.slice(0, -1) : pattern;
  const parts = p === "/" ? [] : p.slice(1).split("/");
  const out: PatternSegment[] = [];
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    const star = part.indexOf("*");
    if (star >= 0) {
      if (part.indexOf("*", star + 1) >= 0) return `"${part}": at most one * per path segment`;
      const kind = i === parts.length - 1 ? "rest" : "glob";
      out.push({ kind, prefix: part.slice(0, star), suffix: part.slice(star + 1) });
    } else if (part.charCodeAt(0) !== 58 /* : */) {
      out.push({ kind: "literal", text: part });
    } else {
      const param = PARAM.exec(part);
      if (param) out.push({ kind: "param", name: param[1]! });
      else if (/^:[A-Za-z_]/.test(part)) return `"${part}": a :placeholder must be a whole path segment`;
      else out.push({ kind: "literal", text: part });
    }
  }
  return out;
}

/** Whether a pattern matches more than one path (a placeholder, glob or splat). */
function isDynamic(segments: readonly PatternSegment[]): boolean {
  return segments.some((s) => s.kind !== "literal");
}

// ---- header values ------------------------------------------------------------

/** Visible ASCII only: what a Location value must be (non-ASCII is percent-encoded). */
export function isVisibleAscii(value: string): boolean {
  return /^[\x21-\x7e]*$/.test(value);
}

/**
 * A Set-Cookie value may only name one of the site's own hosts as Domain:
 * a parent domain would hand the cookie to every other site under it.
 */
function checkCookieDomain(value: string, hosts: readonly string[]): string | null {
  for (const attr of value.split(";").slice(1)) {
    const eq = attr.indexOf("=");
    if (eq < 0 || attr.slice(0, eq).trim().toLowerCase() !== "domain") continue;
    const domain = attr
      .slice(eq + 1)
      .trim()
      .replace(/^\./, "")
      .toLowerCase();
    if (!hosts.includes(domain)) {
      const allowed = hosts.length > 0 ? `one of this site's hosts (${hosts.join(", ")})` : "one of this site's hosts";
      return `cookie Domain=${domain} is not ${allowed}; leave Domain out for a cookie of this host only`;
    }
  }
  return null;
}

// ---- files ------------------------------------------------------------------

export function tooBig(file: RulesFile): RulesError {
  return new RulesError(file, 1, `the file is larger than the rules file limit (${RULES_LIMITS.fileBytes} bytes)`, "rules_file_too_large");
}

function lines(file: RulesFile, text: string): string[] {
  if (Buffer.byteLength(text) > RULES_LIMITS.fileBytes) {
    throw tooBig(file);
  }
  const all = text.replace(/^\uFEFF/, "").split(/\r?\n/);
  all.forEach((l, i) => {
    if (l.length > RULES_LIMITS.lineChars) {
      const limit = RULES_LIMITS.lineChars;
      throw new RulesError(file, i + 1, `the line is longer than the rules line limit (${limit} characters)`, "rules_line_too_long");
    }
  });
  return all;
}

function countRule(file: RulesFile, line: number, count: number): void {
  if (count > RULES_LIMITS.rules) {
    throw new RulesError(file, line, `more rules than the rules limit (${RULES_LIMITS.rules} per file)`, "too_many_rules");
  }
}

/** Counts dynamic patterns of one file against their limit. */
class PatternChecker {
  private dynamic = 0;
  constructor(private readonly file: RulesFile) {}

  check(line: number, path: string, what: string): void {
    if (/[\s\0]/.test(path)) throw new RulesError(this.file, line, `${what} "${path}" contains whitespace or NUL`);
    const parsed = parsePattern(path);
    if (typeof parsed === "string") throw new RulesError(this.file, line, `${what} ${parsed}`);
    if (isDynamic(parsed) && ++this.dynamic > RULES_LIMITS.dynamicRules) {
      const limit = RULES_LIMITS.dynamicRules;
      const why = `more rules with * or :placeholders than the dynamic rules limit (${limit} per file)`;
      throw new RulesError(this.file, line, why, "too_many_rules");
    }
  }
}

/**
 * A redirect destination as sent in Location: non-ASCII characters are
 * percent-encoded as UTF-8 ("/€" becomes "/%E2%82%AC"; a host becomes punycode);
 * controls and whitespace are refused.
 */
function destination(line: number, to: string, absolute: boolean): string {
  if (/[\u0000-\u0020\u007f]/.test(to)) {
    throw new RulesError("_redirects", line, `destination "${to}" contains a control character or whitespace`);
  }
  if (isVisibleAscii(to)) return to;
  try {
    if (absolute) return new URL(to).href;
    return to.replace(/[^\x00-\x7f]+/g, (s) => encodeURIComponent(s));
  } catch {
    throw new RulesError("_redirects", line, `destination "${to}" is not a valid URL (malformed Unicode)`);
  }
}

const REDIRECT_STATUSES = new Set([200, 301, 302, 303, 307, 308, 404, 410]);

export function parseRedirects(text: string): RedirectRule[] {
  const rules: RedirectRule[] = [];
  const patterns = new PatternChecker("_redirects");
  lines("_redirects", text).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    countRule("_redirects", line, rules.length + 1);
    const parts = trimmed.split(/\s+/);
    const from = parts.shift()!;
    patterns.check(line, from, "source");
    const query: [string, string][] = [];
    while (parts.length > 0 && !parts[0]!.startsWith("/") && !/^https?:\/\//i.test(parts[0]!) && parts[0]!.includes("=")) {
      const [name, ...value] = parts.shift()!.split("=");
      if (!name) throw new RulesError("_redirects", line, "query condition needs a name before =");
      query.push([name, value.join("=")]);
    }
    const rawTo = parts.shift();
    if (rawTo === undefined) throw new RulesError("_redirects", line, "missing destination");
    const absolute = /^https?:\/\/[^/\s]+/i.test(rawTo);
    if (!absolute && !rawTo.startsWith("/")) {
      throw new RulesError("_redirects", line, `destination "${rawTo}" must be a path starting with / or an http(s) URL`);
    }
    const to = destination(line, rawTo, absolute);
    let status = 301;
    let force = false;
    const code = parts.shift();
    if (code !== undefined) {
      const m = /^(\d{3})(!?)$/.exec(code);
      if (!m || !REDIRECT_STATUSES.has(Number(m[1]))) {
        const supported = "200, 301, 302, 303, 307, 308, 404, 410, optionally followed by !";
        throw new RulesError("_redirects", line, `"${code}" is not a supported status (${supported})`);
      }
      status = Number(m[1]);
      force = m[2] === "!";
    }
    if (parts.length > 0) {
      throw new RulesError("_redirects", line, `unsupported extra fields "${parts.join(" ")}" (conditions are not supported)`);
    }
    if (absolute && (status === 200 || status === 404 || status === 410)) {
      throw new RulesError("_redirects", line, `status ${status} needs a local path as destination (proxying is not supported)`);
    }
    rules.push({ line, from, query, to, status, force });
  });
  return rules;
}

/** `hosts`: the site's own host names, the only ones a cookie's Domain= may name. */
export function parseHeaders(text: string, hosts: readonly string[] = []): HeaderRule[] {
  const rules: HeaderRule[] = [];
  let current: HeaderRule | null = null;
  let credentialCount = 0;
  const patterns = new PatternChecker("_headers");
  lines("_headers", text).forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) return;
    if (!/^\s/.test(raw)) {
      if (isBasicAuth(trimmed)) throw unindentedBasicAuth(line);
      countRule("_headers", line, rules.length + 1);
      patterns.check(line, trimmed, "path");
      current = { line, path: trimmed, headers: [] };
      rules.push(current);
      return;
    }
    if (!current) throw new RulesError("_headers", line, "header line before any path line");
    const rule: HeaderRule = current;
    const credentials = basicAuthLine(line, trimmed);
    if (credentials) {
      rule.auth = [...(rule.auth ?? []), ...credentials.map(([user, secret]): [string, string] => [user, checkedHash(line, user, secret)])];
      credentialCount += credentials.length;
      if (credentialCount > RULES_LIMITS.credentials) throw tooManyCredentials(line);
      return;
    }
    rule.headers.push(headerLine(line, trimmed, hosts));
    if (rule.headers.length > RULES_LIMITS.headersPerPath) {
      throw new RulesError("_headers", line, `more headers than the limit per path (${RULES_LIMITS.headersPerPath})`, "too_many_rules");
    }
  });
  for (const r of rules) if (r.headers.length === 0 && !r.auth) throw new RulesError("_headers", r.line, `path "${r.path}" has no headers`);
  return rules;
}

// ---- Basic-Auth ------------------------------------------------------------------

function tooManyCredentials(line: number): RulesError {
  return new RulesError(
    "_headers",
    line,
    `more Basic-Auth credentials than the limit (${RULES_LIMITS.credentials} per file)`,
    "too_many_rules",
  );
}

/**
 * The credentials of a `Basic-Auth: user:password user2:password2` line, or
 * null for any other line. Errors name the user and the position, never the
 * secret (they reach API answers and logs).
 */
function isBasicAuth(text: string): boolean {
  const colon = text.indexOf(":");
  return colon > 0 && text.slice(0, colon).trim().toLowerCase() === "basic-auth";
}

/** Read as a path, the line's text (its passwords) would be quoted in the error. */
function unindentedBasicAuth(line: number): RulesError {
  return new RulesError("_headers", line, "a Basic-Auth line must be indented under a path line");
}

function basicAuthLine(line: number, text: string): [string, string][] | null {
  if (!isBasicAuth(text)) return null;
  const colon = text.indexOf(":");
  const items = text
    .slice(colon + 1)
    .trim()
    .split(/[ \t]+/)
    .filter((i) => i !== "");
  if (items.length === 0) throw new RulesError("_headers", line, "Basic-Auth needs at least one user:password");
  return items.map((item, i) => {
    const sep = item.indexOf(":");
    const user = sep < 0 ? "" : item.slice(0, sep);
    if (sep <= 0 || sep === item.length - 1) {
      throw new RulesError("_headers", line, `Basic-Auth credential ${i + 1} is not user:password (a user and a password, no spaces)`);
    }
    if (/[\u0000-\u001f\u007f]/.test(item))
      throw new RulesError("_headers", line, `Basic-Auth credential ${i + 1} contains a control character`);
    return [user, item.slice(sep + 1)];
  });
}

function checkedHash(line: number, user: string, secret: string): string {
  if (isPasswordHash(secret)) return secret;
  // Upload paths hash passwords before anything is stored (sealHeaders); a password here was never meant to be kept.
  throw new RulesError(
    "_headers",
    line,
    `Basic-Auth password of user "${user}" is not hashed; upload the file through the API, which hashes it`,
  );
}

/**
 * A `_headers` text with every Basic-Auth password replaced by its hash, or
 * null when it has none to replace. Runs when the file arrives, before any
 * byte of it is stored: the password never reaches the database. Hashing runs
 * on Bun's thread pool, one at a time.
 */
export async function sealHeaders(text: string): Promise<string | null> {
  const all = lines("_headers", text);
  let changed = false;
  let count = 0;
  const out: string[] = [];
  for (let i = 0; i < all.length; i++) {
    const raw = all[i]!;
    if (!/^\s/.test(raw) && isBasicAuth(raw.trim())) throw unindentedBasicAuth(i + 1);
    const credentials = /^\s/.test(raw) ? basicAuthLine(i + 1, raw.trim()) : null;
    if (!credentials) {
      out.push(raw);
      continue;
    }
    count += credentials.length;
    if (count > RULES_LIMITS.credentials) throw tooManyCredentials(i + 1);
    // One at a time: each hash holds 19 MiB of a pool thread while it runs.
    const sealed: string[] = [];
    for (const [user, secret] of credentials) sealed.push(`${user}:${isPasswordHash(secret) ? secret : await hashPassword(secret)}`);
    changed ||= credentials.some(([, secret]) => !isPasswordHash(secret));
    // One line as written while it fits the line limit (error line numbers stay those of the file), else one per credential.
    const joined = `  Basic-Auth: ${sealed.join(" ")}`;
    if (joined.length <= RULES_LIMITS.lineChars) out.push(joined);
    else for (const c of sealed) out.push(`  Basic-Auth: ${c}`);
  }
  return changed ? out.join("\n") : null;
}

function headerLine(line: number, text: string, hosts: readonly string[]): [string, string] {
  const colon = text.indexOf(":");
  if (colon <= 0) throw new RulesError("_headers", line, `expected "Name: value", got "${text}"`);
  const name = text.slice(0, colon).trim();
  const value = text.slice(colon + 1).trim();
  const problem = headerProblem(name, value);
  if (problem) throw new RulesError("_headers", line, problem);
  const lower = name.toLowerCase();
  if (lower === "set-cookie") {
    const bad = checkCookieDomain(value, hosts);
    if (bad) throw new RulesError("_headers", line, bad);
  }
  return [lower, value];
}

/** The rules of a deploy from its `_redirects` and `_headers` files (read through `text`). */
export function deployRules<E extends { path: string; size: number }>(
  entries: readonly E[],
  text: (entry: E) => string,
  hosts: readonly string[] = [],
): SiteRules {
  const read = (path: string, file: RulesFile): string | null => {
    const entry = entries.find((e) => e.path === path);
    if (!entry) return null;
    if (entry.size > RULES_LIMITS.fileBytes) {
      throw tooBig(file);
    }
    return text(entry);
  };
  const redirects = read("/_redirects", "_redirects");
  const headers = read("/_headers", "_headers");
  return {
    redirects: redirects === null ? [] : parseRedirects(redirects),
    headers: headers === null ? [] : parseHeaders(headers, hosts),
  };
}
