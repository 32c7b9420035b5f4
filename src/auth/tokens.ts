// API tokens look like "fzt_<id>_<secret>". Only SHA-256(secret) is stored;
// the id finds the row, the secret is compared in constant time.
import { timingSafeEqual } from "node:crypto";
import type { Store } from "../db/index.ts";
import { randomId } from "../core/ids.ts";

interface TokenScope {
  tokenId: string;
  /** null: an admin token that may act on every site. */
  siteId: number | null;
}

const TOKEN_RE = /^fzt_([a-z2-7]{12})_([A-Za-z0-9_-]{43})$/;

function hashSecret(secret: string): Uint8Array {
  return new Bun.CryptoHasher("sha256").update(secret).digest();
}

export function createToken(store: Store, opts: { siteId?: number | null; label?: string } = {}): string {
  const id = randomId(12);
  const secret = Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("base64url");
  store.write
    .query("INSERT INTO tokens (id, secret_hash, site_id, label, created_at) VALUES (?, ?, ?, ?, ?)")
    .run(id, hashSecret(secret), opts.siteId ?? null, opts.label ?? "", Date.now());
  return `fzt_${id}_${secret}`;
}

export function hasAdminToken(store: Store): boolean {
  return store.write.query("SELECT 1 FROM tokens WHERE site_id IS NULL LIMIT 1").get() !== null;
}

export interface TokenInfo {
  id: string;
  label: string;
  /** null: admin. */
  siteId: number | null;
  siteName: string | null;
  createdAt: number;
  lastUsedAt: number | null;
}

export function listTokens(store: Store): TokenInfo[] {
  const rows = store.read
    .query(
      `SELECT t.id, t.label, t.site_id, s.name AS site_name, t.created_at, t.last_used_at
       FROM tokens t LEFT JOIN sites s ON s.id = t.site_id ORDER BY t.created_at, t.id`,
    )
    .all() as {
    id: string;
    label: string;
    site_id: number | null;
    site_name: string | null;
    created_at: number;
    last_used_at: number | null;
  }[];
  return rows.map((r) => ({
    id: r.id,
    label: r.label,
    siteId: r.site_id,
    siteName: r.site_name,
    createdAt: r.created_at,
    lastUsedAt: lastUse.get(r.id) ?? r.last_used_at,
  }));
}

/** Revoke a token by id (or by the whole token); false when there was none. */
export function revokeToken(store: Store, idOrToken: string): boolean {
  const id = TOKEN_RE.exec(idOrToken)?.[1] ?? idOrToken;
  lastUse.delete(id);
  return store.write.query("DELETE FROM tokens WHERE id = ?").run(id).changes > 0;
}

// "Last used" is written at most once a minute per token: no write per API call.
const LAST_USE_WRITE_MS = 60_000;
const lastUse = new Map<string, number>();

function touch(store: Store, id: string, now = Date.now()): void {
  const before = lastUse.get(id);
  lastUse.set(id, now);
  if (before !== undefined && now - before < LAST_USE_WRITE_MS) return;
  if (lastUse.size > 10_000) lastUse.clear();
  store.write.query("UPDATE tokens SET last_used_at = ? WHERE id = ?").run(now, id);
}

const DUMMY_HASH = hashSecret("dummy");

/** The token's scope, or null when it is malformed or unknown. */
export function verifyToken(store: Store, token: string): TokenScope | null {
  const m = TOKEN_RE.exec(token);
  const row = m
    ? (store.read.query("SELECT secret_hash, site_id FROM tokens WHERE id = ?").get(m[1]!) as {
        secret_hash: Uint8Array;
        site_id: number | null;
      } | null)
    : null;
  // Compare even when no row matched so timing does not reveal which ids exist.
  const given = hashSecret(m ? m[2]! : token);
  const ok = timingSafeEqual(given, row ? row.secret_hash : DUMMY_HASH) && row !== null;
  if (!ok || !m) return null;
  touch(store, m[1]!);
  return { tokenId: m[1]!, siteId: row!.site_id };
}
