// API tokens look like "fzt_<id>_<secret>". Only SHA-256(secret) is stored;
// the id finds the row, the secret is compared in constant time.
import { timingSafeEqual } from "node:crypto";
import type { Store } from "../db/index.ts";
import { randomId } from "../core/ids.ts";

export interface TokenScope {
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

const DUMMY_HASH = hashSecret("dummy");

/** The token's scope, or null when it is malformed or unknown. */
export function verifyToken(store: Store, token: string): TokenScope | null {
  const m = TOKEN_RE.exec(token);
  const row = m
    ? (store.read.query("SELECT secret_hash, site_id FROM tokens WHERE id = ?").get(m[1]!) as
        | { secret_hash: Uint8Array; site_id: number | null }
        | null)
    : null;
  // Compare even when no row matched so timing does not reveal which ids exist.
  const given = hashSecret(m ? m[2]! : token);
  const ok = timingSafeEqual(given, row ? row.secret_hash : DUMMY_HASH) && row !== null;
  return ok && m ? { tokenId: m[1]!, siteId: row!.site_id } : null;
}
