// Sessions of the web UI (table `sessions`). The cookie value is
// "<id>.<secret>": the id finds the row, SHA-256(secret) is compared in
// constant time. The CSRF token is derived from the secret, so it is never
// stored and cannot be computed from a copy of the database. Every check
// reads the database: a deleted row is refused on the next request.
import { timingSafeEqual } from "node:crypto";
import type { Store } from "../db/index.ts";
import { randomId } from "../core/ids.ts";

/** A session ends this long after its last use... */
export const SESSION_IDLE_MS = 12 * 3600_000;
/** ...and at the latest this long after sign-in. */
export const SESSION_MAX_MS = 7 * 24 * 3600_000;
/** last_seen_at is written at most this often per session (one write per minute, not per request). */
const TOUCH_EVERY_MS = 60_000;
/** Older sessions of a user beyond this many are ended at sign-in. */
const MAX_SESSIONS_PER_USER = 20;

export const SESSION_COOKIE = "fazt_session";
const COOKIE_RE = /^([a-z2-7]{16})\.([A-Za-z0-9_-]{43})$/;

export interface Session {
  id: string;
  user: string;
  expiresAt: number;
  /** The value the X-CSRF-Token header must carry on every change made with this session. */
  csrfToken: string;
}

const sha256 = (text: string) => new Bun.CryptoHasher("sha256").update(text).digest();
const DUMMY_HASH = sha256("dummy");

function csrfTokenOf(secret: string): string {
  return Buffer.from(sha256(`csrf:${secret}`)).toString("base64url");
}

/** A new session for a user that exists; returns the cookie value and the session. */
export function createSession(store: Store, userName: string, now = Date.now()): { cookie: string; session: Session } {
  const id = randomId(16);
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  const expiresAt = now + SESSION_MAX_MS;
  store.tx(() => {
    const user = store.write.query("SELECT id FROM users WHERE name = ?").get(userName) as { id: number } | null;
    if (!user) throw new Error(`no user ${userName}`);
    endStale(store, now);
    store.write
      .query(
        `DELETE FROM sessions WHERE user_id = ?1 AND id NOT IN
           (SELECT id FROM sessions WHERE user_id = ?1 ORDER BY created_at DESC LIMIT ?2)`,
      )
      .run(user.id, MAX_SESSIONS_PER_USER - 1);
    store.write
      .query("INSERT INTO sessions (id, secret_hash, user_id, created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")
      .run(id, sha256(secret), user.id, now, now, expiresAt);
  });
  return { cookie: `${id}.${secret}`, session: { id, user: userName, expiresAt, csrfToken: csrfTokenOf(secret) } };
}

/** The live session a cookie value names, or null (malformed, unknown, ended or expired). */
export function verifySession(store: Store, cookie: string, now = Date.now()): Session | null {
  const m = COOKIE_RE.exec(cookie);
  const row = m
    ? (store.read
        .query(
          `SELECT s.secret_hash, s.last_seen_at, s.expires_at, u.name
           FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ?`,
        )
        .get(m[1]!) as { secret_hash: Uint8Array; last_seen_at: number; expires_at: number; name: string } | null)
    : null;
  // Compare even without a row so timing does not reveal which ids exist.
  const matches = timingSafeEqual(sha256(m ? m[2]! : cookie), row ? row.secret_hash : DUMMY_HASH);
  if (!m || !row || !matches) return null;
  if (row.expires_at <= now || row.last_seen_at + SESSION_IDLE_MS <= now) return null;
  if (now - row.last_seen_at >= TOUCH_EVERY_MS) {
    store.write.query("UPDATE sessions SET last_seen_at = ? WHERE id = ?").run(now, m[1]!);
  }
  return { id: m[1]!, user: row.name, expiresAt: Math.min(row.expires_at, now + SESSION_IDLE_MS), csrfToken: csrfTokenOf(m[2]!) };
}

export function endSession(store: Store, id: string): void {
  store.write.query("DELETE FROM sessions WHERE id = ?").run(id);
}

/** Ends every session of a user (password changed, user removed); returns how many. */
export function endUserSessions(store: Store, userName: string): number {
  return store.write.query("DELETE FROM sessions WHERE user_id = (SELECT id FROM users WHERE name = ?)").run(userName).changes;
}

function endStale(store: Store, now: number): void {
  store.write.query("DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?").run(now, now - SESSION_IDLE_MS);
}

/** The session cookie's value in a Cookie header, or null. */
export function sessionCookie(req: Request): string | null {
  const header = req.headers.get("cookie");
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) return part.slice(eq + 1).trim();
  }
  return null;
}

/** Constant-time comparison of a presented CSRF token with the session's. */
export function csrfMatches(session: Session, presented: string | null): boolean {
  if (presented === null) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && timingSafeEqual(a, b);
}
