// Certificate storage in the `certificates` table with certmagic's semantics:
// keys are slash-separated paths ("certificates/ISSUER/NAME/NAME.crt"); a key
// is a "file" and every proper prefix of it ending at a "/" is a "directory".
import type { Store } from "../db/index.ts";

interface KeyInfo {
  key: string;
  modified: number;
  size: number;
  /** False for a "directory" (a prefix of stored keys). */
  isTerminal: boolean;
}

export class NotFoundError extends Error {
  constructor(key: string) {
    super(`no such key: ${key}`);
  }
}

/** Escape LIKE wildcards so a key prefix matches literally (ESCAPE '\'). */
function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + "%";
}

const trimSlashes = (key: string) => key.replace(/^\/+|\/+$/g, "");

export class CertStorage {
  constructor(private readonly db: Store) {}

  store(key: string, value: Uint8Array | string): void {
    const bytes = typeof value === "string" ? new TextEncoder().encode(value) : value;
    this.db.write
      .query("INSERT INTO certificates (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at")
      .run(trimSlashes(key), bytes, Date.now());
  }

  /** Store several keys at once (a certificate with its key and metadata). */
  storeAll(entries: Record<string, Uint8Array | string>): void {
    this.db.tx(() => {
      for (const [k, v] of Object.entries(entries)) this.store(k, v);
    });
  }

  load(key: string): Uint8Array {
    const row = this.db.write.query("SELECT value FROM certificates WHERE key = ?").get(trimSlashes(key)) as { value: Uint8Array } | null;
    if (!row) throw new NotFoundError(key);
    return row.value;
  }

  loadText(key: string): string | null {
    try {
      return new TextDecoder().decode(this.load(key));
    } catch (e) {
      if (e instanceof NotFoundError) return null;
      throw e;
    }
  }

  /** Delete a key, or a "directory" and everything under it. */
  delete(key: string): void {
    const k = trimSlashes(key);
    const r = this.db.tx(() =>
      this.db.write.query("DELETE FROM certificates WHERE key = ? OR key LIKE ? ESCAPE '\\'").run(k, likePrefix(k + "/")),
    );
    if (r.changes === 0) throw new NotFoundError(key);
  }

  exists(key: string): boolean {
    const k = trimSlashes(key);
    return (
      this.db.write.query("SELECT 1 FROM certificates WHERE key = ? OR key LIKE ? ESCAPE '\\' LIMIT 1").get(k, likePrefix(k + "/")) !== null
    );
  }

  /**
   * Keys under a prefix directory. Non-recursive lists the direct children
   * (files and directories, each once); recursive lists every stored key.
   */
  list(prefix: string, recursive: boolean): string[] {
    const p = trimSlashes(prefix);
    const base = p === "" ? "" : p + "/";
    const rows = this.db.write
      .query("SELECT key FROM certificates WHERE key LIKE ? ESCAPE '\\' ORDER BY key")
      .all(likePrefix(base)) as { key: string }[];
    if (rows.length === 0 && !this.exists(p)) throw new NotFoundError(prefix);
    if (recursive) return rows.map((r) => r.key);
    const children = new Set<string>();
    for (const { key } of rows) {
      const slash = key.indexOf("/", base.length);
      children.add(slash < 0 ? key : key.slice(0, slash));
    }
    return [...children];
  }

  stat(key: string): KeyInfo {
    const k = trimSlashes(key);
    const file = this.db.write.query("SELECT length(value) AS size, updated_at FROM certificates WHERE key = ?").get(k) as {
      size: number;
      updated_at: number;
    } | null;
    if (file) return { key: k, modified: file.updated_at, size: file.size, isTerminal: true };
    const dir = this.db.write
      .query("SELECT MAX(updated_at) AS modified, COUNT(*) AS n FROM certificates WHERE key LIKE ? ESCAPE '\\'")
      .get(likePrefix(k + "/")) as { modified: number | null; n: number };
    if (dir.n === 0) throw new NotFoundError(key);
    return { key: k, modified: dir.modified ?? 0, size: 0, isTerminal: false };
  }
}

/**
 * The stored certificate and key of one name (any issuer; the most recently
 * stored when several hold it), for other listeners than HTTPS (SMTP STARTTLS).
 */
export function storedCertificate(storage: CertStorage, name: string): { cert: string; key: string } | null {
  let issuers: string[];
  try {
    issuers = storage.list("certificates", false);
  } catch (e) {
    if (e instanceof NotFoundError) return null;
    throw e;
  }
  let best: { cert: string; key: string; at: number } | null = null;
  for (const dir of issuers) {
    const base = `${dir}/${name}/${name}`;
    const cert = storage.loadText(`${base}.crt`);
    const key = storage.loadText(`${base}.key`);
    if (!cert || !key) continue;
    const at = storage.stat(`${base}.crt`).modified;
    if (!best || at > best.at) best = { cert, key, at };
  }
  return best && { cert: best.cert, key: best.key };
}
