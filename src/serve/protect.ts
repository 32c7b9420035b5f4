// Protected sites and paths (docs/SERVING.md, "Protected sites and paths"):
// `Basic-Auth` lines of `_headers`, a site password with a sign-in page and a
// signed cookie, private previews. Decided once per site and deploy (a Gate,
// or null: unprotected sites pay nothing); checked per request before any
// cached answer is used. Password checks (argon2id) run on Bun's thread pool;
// a credential that passed is remembered by a SHA-256 of it, so repeated
// requests cost a hash, not argon2.
import type { Server } from "bun";
import { FailureLimiter } from "../auth/ratelimit.ts";
import { MAX_SITE_PASSWORD } from "../auth/passwords.ts";
import { credentialsFor, splitPath, type CompiledRules } from "./rules.ts";
import type { SiteRoute } from "./routes.ts";

export const PRIVATE = "private, no-store";
/** The reserved sign-in path of a site with a password (dotfile paths are never published, so no deploy shadows it). */
export const LOGIN_PATH = "/.fazt/login";
const COOKIE = "fazt_site";
const COOKIE_MAX_AGE_S = 7 * 24 * 3600;
/** Longer Authorization headers are not read (401). */
const MAX_AUTHORIZATION = 4096;
/** A sign-in form: a password of at most MAX_SITE_PASSWORD characters and a path to go back to. */
const MAX_LOGIN_BODY = 8192;
/** Credentials that passed, remembered (by SHA-256) this long and this many. */
const VERIFIED_TTL_MS = 10 * 60_000;
const VERIFIED_MAX = 1024;
/** Password checks running at once (about 19 MiB and 20 ms of a pool thread each); beyond: 503. */
const MAX_VERIFYING = 8;
/** Failed attempts per client before 429, per window. */
const FAILURES_ALLOWED = 10;
const FAILURE_WINDOW_MS = 5 * 60_000;

/** What protects one site's deploy (live or preview); null when nothing does. */
export interface Gate {
  realm: string;
  siteId: number;
  /** Every path needs a sign-in (site password, or a private preview). */
  site: boolean;
  passwordHash: string | null;
  /** The sign-in cookie's HMAC key; null: no cookie can be valid (fails closed). */
  secret: string | null;
  /** `Basic-Auth` rules of the deploy. */
  paths: CompiledRules["auth"];
}

export function gateFor(route: SiteRoute, paths: CompiledRules["auth"]): Gate | null {
  const s = route.settings;
  const site = s.passwordHash !== null || (route.preview && s.privatePreviews);
  if (!site && paths === null) return null;
  return { realm: route.siteName, siteId: route.siteId, site, passwordHash: s.passwordHash, secret: s.authSecret, paths };
}

/** The request may be answered: nothing protected its path... */
export const OPEN = 0;
/** ...or it was protected and the client proved access (the answer is then private). */
export const GRANTED = 1;
export type Check = typeof OPEN | typeof GRANTED | Response | Promise<typeof GRANTED | Response>;

export interface ProtectionDeps {
  /** Whether an API token opens this site (admin tokens and the site's own). */
  tokenOpens(token: string, siteId: number): boolean;
  /** The client's address (for the failure limit). */
  client(req: Request, server: Server<undefined> | null): string;
}

export class Protection {
  private readonly failures = new FailureLimiter(FAILURES_ALLOWED, FAILURE_WINDOW_MS);
  /** SHA-256(hash, password) -> expiry: credentials that passed. Insertion order = age. */
  private readonly verified = new Map<string, number>();
  /** Checks under way by the same key: parallel requests with one new credential share one argon2 run. */
  private readonly verifying = new Map<string, Promise<boolean>>();

  constructor(private readonly deps: ProtectionDeps) {}

  /** Whether a request may be answered (rawPath as sent, query without "?"). */
  check(req: Request, gate: Gate, host: string, rawPath: string, query: string, server: Server<undefined> | null): Check {
    let granted: typeof OPEN | typeof GRANTED = OPEN;
    if (gate.site) {
      if (rawPath === LOGIN_PATH) return signInPage(200, "/", null);
      if (!this.signedIn(req, gate, host)) return signInPage(401, query === "" ? rawPath : `${rawPath}?${query}`, null);
      granted = GRANTED;
    }
    if (gate.paths === null) return granted;
    let path: string;
    try {
      path = decodeURIComponent(rawPath);
    } catch {
      return granted; // answered 400 by resolution
    }
    const credentials = credentialsFor(gate.paths, splitPath(path));
    return credentials === null ? granted : this.basic(req, gate, credentials, server);
  }

  /** POST /.fazt/login: the sign-in form of a site with a password (or a private preview). */
  async login(req: Request, gate: Gate | null, host: string, server: Server<undefined> | null): Promise<Response> {
    if (gate === null || !gate.site) return plain(404, "not found\n");
    const origin = req.headers.get("origin");
    if (origin !== null && origin !== "null" && hostOf(origin) !== (req.headers.get("host") ?? "").toLowerCase()) {
      return plain(403, "sign-in form posted from another site\n");
    }
    const client = this.deps.client(req, server);
    const wait = this.failures.blockedFor(client);
    if (wait > 0) return tooManyAttempts(wait);
    const form = await readForm(req);
    if (typeof form === "string") return plain(413, form);
    const next = safeNext(form.get("next"));
    const password = form.get("password") ?? "";
    let ok = password.length > 0 && password.length <= MAX_SITE_PASSWORD * 2 && this.deps.tokenOpens(password, gate.siteId);
    if (!ok && gate.passwordHash !== null && password.length > 0 && password.length <= MAX_SITE_PASSWORD) {
      const checked = this.verify(gate.passwordHash, password);
      if (checked === null) return busy();
      ok = await checked;
    }
    if (!ok || gate.secret === null) {
      this.failures.fail(client);
      return signInPage(401, next, "Wrong password.");
    }
    const secure = req.url.startsWith("https:") ? "; Secure" : "";
    const cookie = `${COOKIE}=${signCookie(gate.secret, host)}; Path=/; Max-Age=${COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Lax${secure}`;
    return new Response(null, { status: 303, headers: { location: next, "set-cookie": cookie, "cache-control": PRIVATE } });
  }

  private signedIn(req: Request, gate: Gate, host: string): boolean {
    if (gate.secret !== null) {
      const cookie = cookieValue(req.headers.get("cookie"), COOKIE);
      if (cookie !== null && cookieValid(gate.secret, host, cookie)) return true;
    }
    const auth = req.headers.get("authorization");
    return (
      auth !== null && auth.length <= MAX_AUTHORIZATION && /^bearer /i.test(auth) && this.deps.tokenOpens(auth.slice(7).trim(), gate.siteId)
    );
  }

  private basic(req: Request, gate: Gate, credentials: [string, string][], server: Server<undefined> | null): Check {
    const given = basicCredentials(req.headers.get("authorization"));
    if (given === null) return unauthorized(gate.realm);
    const client = this.deps.client(req, server);
    const wait = this.failures.blockedFor(client);
    if (wait > 0) return tooManyAttempts(wait);
    const known = credentials.find(([user]) => user === given.user);
    // An unknown user is checked against some hash anyway: the answer's timing does not tell which users exist.
    const hash = (known ?? credentials[0]!)[1];
    const checked = this.verify(hash, given.password);
    if (checked === true && known) return GRANTED;
    if (checked === null) return busy();
    if (checked === true) return this.denied(client, gate);
    return checked.then((ok) => (ok && known ? GRANTED : this.denied(client, gate)));
  }

  private denied(client: string, gate: Gate): Response {
    this.failures.fail(client);
    return unauthorized(gate.realm);
  }

  /** true: passed before; a Promise: checking; null: too many checks under way. */
  private verify(hash: string, password: string): true | Promise<boolean> | null {
    const key = new Bun.CryptoHasher("sha256").update(hash).update("\0").update(password).digest("base64");
    const now = Date.now();
    const until = this.verified.get(key);
    if (until !== undefined && until > now) return true;
    const running = this.verifying.get(key);
    if (running) return running;
    if (this.verifying.size >= MAX_VERIFYING) return null;
    const check = Bun.password
      .verify(password, hash)
      .catch(() => false)
      .then((ok) => {
        this.verifying.delete(key);
        if (ok) this.remember(key, Date.now() + VERIFIED_TTL_MS);
        return ok;
      });
    this.verifying.set(key, check);
    return check;
  }

  private remember(key: string, until: number): void {
    this.verified.delete(key);
    if (this.verified.size >= VERIFIED_MAX) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(key, until);
  }
}

// ---- credentials -----------------------------------------------------------------

/** user and password of a `Basic` Authorization header (RFC 7617, UTF-8), or null when absent or malformed. */
export function basicCredentials(header: string | null): { user: string; password: string } | null {
  if (header === null || header.length > MAX_AUTHORIZATION || !/^basic +/i.test(header)) return null;
  const encoded = header.replace(/^basic +/i, "").trim();
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return null;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.from(encoded, "base64"));
  } catch {
    return null;
  }
  const colon = text.indexOf(":");
  return colon < 0 ? null : { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

function cookieValue(header: string | null, name: string): string | null {
  if (header === null) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** "EXPIRY.SIGNATURE": HMAC-SHA-256 of the host and expiry (seconds) under the site's key. */
function signCookie(secret: string, host: string, expires = Math.floor(Date.now() / 1000) + COOKIE_MAX_AGE_S): string {
  return `${expires}.${cookieSignature(secret, host, expires)}`;
}

function cookieSignature(secret: string, host: string, expires: number): string {
  return new Bun.CryptoHasher("sha256", secret).update(`${host}\n${expires}`).digest("base64url");
}

function cookieValid(secret: string, host: string, value: string): boolean {
  const dot = value.indexOf(".");
  const expires = Number(value.slice(0, dot));
  if (dot <= 0 || !Number.isSafeInteger(expires) || expires * 1000 < Date.now()) return false;
  const want = Buffer.from(cookieSignature(secret, host, expires));
  const got = Buffer.from(value.slice(dot + 1));
  return got.length === want.length && crypto.timingSafeEqual(got, want);
}

// ---- answers ---------------------------------------------------------------------

function plain(status: number, text: string, extra: Record<string, string> = {}): Response {
  const headers = { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff", "cache-control": PRIVATE, ...extra };
  return new Response(text, { status, headers });
}

function unauthorized(realm: string): Response {
  return plain(401, "401 Unauthorized: this path needs a user name and password\n", {
    "www-authenticate": `Basic realm="${realm}", charset="UTF-8"`,
  });
}

function tooManyAttempts(waitMs: number): Response {
  const seconds = Math.ceil(waitMs / 1000);
  return plain(429, `too many failed sign-in attempts from this address; try again in ${seconds} s\n`, { "retry-after": String(seconds) });
}

function busy(): Response {
  return plain(503, "too many password checks under way; try again in a moment\n", { "retry-after": "1" });
}

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/** The sign-in page: a form posting the password (and where to go back) to LOGIN_PATH. */
function signInPage(status: number, next: string, error: string | null): Response {
  const html = `<!doctype html>
<html lang="en"><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in</title>
<style>body{font:16px system-ui,sans-serif;display:grid;place-items:center;min-height:90vh;margin:0}
form{display:grid;gap:.6em;min-width:16em}input,button{font:inherit;padding:.4em}.error{color:#b00020;margin:0}</style>
<form method="post" action="${LOGIN_PATH}">
<h1>Sign in</h1>
<p>This site is protected by a password.</p>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>\n` : ""}<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="${escapeHtml(next)}">
<button type="submit">Sign in</button>
</form>
</html>
`;
  const headers = {
    "content-type": "text/html; charset=utf-8",
    "x-content-type-options": "nosniff",
    "cache-control": PRIVATE,
    "content-security-policy": PAGE_CSP,
    "referrer-policy": "no-referrer",
  };
  return new Response(html, { status, headers });
}

/** A same-site path to go back to after signing in; anything else becomes "/". */
function safeNext(next: string | null): string {
  if (next === null || !next.startsWith("/") || next.startsWith("//") || next.includes("\\") || next.length > 8192) return "/";
  return /^[\x21-\x7e]*$/.test(next) ? next : "/";
}

function hostOf(origin: string): string | null {
  try {
    return new URL(origin).host.toLowerCase();
  } catch {
    return null;
  }
}

/** The urlencoded sign-in form, read up to MAX_LOGIN_BODY bytes; a string: why it was refused. */
async function readForm(req: Request): Promise<URLSearchParams | string> {
  const tooBig = `the sign-in form is larger than its limit (${MAX_LOGIN_BODY} bytes)\n`;
  if (Number(req.headers.get("content-length") ?? 0) > MAX_LOGIN_BODY) return tooBig;
  const held: Uint8Array[] = [];
  let size = 0;
  if (req.body) {
    for await (const piece of req.body as unknown as AsyncIterable<Uint8Array>) {
      size += piece.length;
      if (size > MAX_LOGIN_BODY) return tooBig;
      held.push(piece);
    }
  }
  return new URLSearchParams(new TextDecoder().decode(Buffer.concat(held)));
}
