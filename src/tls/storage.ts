// Certificate storage in the `certificates` table, keyed by certmagic's paths.
// This module is the only code that reads or writes the table, and the only
// one that knows the key layout:
//   certificates/ISSUER/NAME/NAME.crt|.key|.json   a certificate, its key, metadata
//   acme/ISSUER/users/EMAIL/account.key|.json      the ACME account
//   acme/ISSUER/orders/NAME.json                   a pending order
//   default/fazt-default.crt|.key                  the self-signed default certificate
import type { Database } from "bun:sqlite";
import type { Store } from "../db/index.ts";
import { systemClock, type Clock } from "../core/clock.ts";

export interface PemPair {
  cert: string;
  key: string;
}

/** One issuer's stored certificate for one name. */
export interface CertificateRef {
  name: string;
  issuer: string;
  /** Its key without extension ("certificates/ISSUER/NAME/NAME"): what is stored, for change checks and logs. */
  keyPrefix: string;
  /** When its certificate was stored (ms). */
  updatedAt: number;
}

const isComponent = (part: string) => part !== "." && part !== ".." && /^[^/]+$/.test(part);

/** One path component of a key: no slash, not empty, not "." or "..". */
function component(part: string, what: string): string {
  if (!isComponent(part)) throw new Error(`${what} ${JSON.stringify(part)} cannot be a storage key component`);
  return part;
}

/** "certificates/ISSUER/NAME/NAME": a certificate's key without its extension. */
export function certificateKeyPrefix(issuer: string, name: string): string {
  const n = component(name, "certificate name");
  return `certificates/${component(issuer, "issuer")}/${n}/${n}`;
}

/** The issuer and name of a certificate's key ("certificates/ISSUER/NAME/NAME.crt"); null for any other key. */
export function parseCertificateKey(key: string): { issuer: string; name: string } | null {
  const m = /^certificates\/([^/]+)\/([^/]+)\/\2\.crt$/.exec(key);
  if (!m || !isComponent(m[1]!) || !isComponent(m[2]!)) return null;
  return { issuer: m[1]!, name: m[2]! };
}

/** The ACME account's key and its metadata (URL, email), per issuer and email. */
export function accountKeys(issuer: string, email: string | null): { key: string; json: string } {
  const dir = `acme/${component(issuer, "issuer")}/users/${(email ?? "default").replace(/[^A-Za-z0-9@.+_-]/g, "_")}`;
  return { key: `${dir}/account.key`, json: `${dir}/account.json` };
}

/** A pending order for one name, kept so a restart resumes it. */
export function orderKey(issuer: string, name: string): string {
  return `acme/${component(issuer, "issuer")}/orders/${component(name, "order name")}.json`;
}

const DEFAULT_PREFIX = "default/fazt-default";

/** Escape LIKE wildcards so the text matches literally (ESCAPE '\'). */
function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/** The reading half, on any connection (fazt doctor hands in a read-only one). */
export class CertReader {
  constructor(protected readonly conn: Database) {}

  loadText(key: string): string | null {
    const row = this.conn.query("SELECT value FROM certificates WHERE key = ?").get(key) as { value: Uint8Array } | null;
    return row && new TextDecoder().decode(row.value);
  }

  /** The stored certificates, of every name or of one (by key). */
  listCertificates(name?: string): CertificateRef[] {
    if (name !== undefined && !isComponent(name)) return [];
    const n = name === undefined ? "%" : likeLiteral(name);
    const rows = this.conn
      .query("SELECT key, updated_at FROM certificates WHERE key LIKE ? ESCAPE '\\' ORDER BY key")
      .all(`certificates/%/${n}/${n}.crt`) as { key: string; updated_at: number }[];
    const refs: CertificateRef[] = [];
    for (const { key, updated_at } of rows) {
      // The issuer's "%" may span slashes: only a key of the exact layout counts.
      const parsed = parseCertificateKey(key);
      if (parsed) refs.push({ ...parsed, keyPrefix: key.slice(0, -".crt".length), updatedAt: updated_at });
    }
    return refs;
  }

  /** A certificate's PEM, or null when it is gone. */
  certificatePem(ref: CertificateRef): string | null {
    return this.loadText(`${ref.keyPrefix}.crt`);
  }

  /** A certificate with its key; null unless both are stored. */
  certificatePair(ref: CertificateRef): PemPair | null {
    return this.pair(ref.keyPrefix);
  }

  /** The certificate and key of one name from any issuer, the most recently stored (for SMTP STARTTLS). */
  loadCertificate(name: string): PemPair | null {
    for (const ref of this.listCertificates(name).sort((a, b) => b.updatedAt - a.updatedAt)) {
      const pair = this.certificatePair(ref);
      if (pair) return pair;
    }
    return null;
  }

  defaultCertificate(): PemPair | null {
    return this.pair(DEFAULT_PREFIX);
  }

  private pair(prefix: string): PemPair | null {
    const cert = this.loadText(`${prefix}.crt`);
    const key = this.loadText(`${prefix}.key`);
    return cert && key ? { cert, key } : null;
  }
}

/** Reading and writing, for the running server (reads on the writing connection: it sees its own writes). */
export class CertStorage extends CertReader {
  constructor(
    private readonly db: Store,
    /** The time stored as updated_at (which of two pairs is newer); tests pass one they move. */
    private readonly clock: Clock = systemClock,
  ) {
    super(db.write);
  }

  store(key: string, value: string): void {
    this.db.write
      .query(
        `INSERT INTO certificates (key, value, updated_at) VALUES (?, ?, ?)
         ON CONFLICT(key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
      )
      .run(key, new TextEncoder().encode(value), this.clock());
  }

  /** Store several keys at once (a certificate with its key and metadata). */
  storeAll(entries: Record<string, string>): void {
    this.db.tx(() => {
      for (const [k, v] of Object.entries(entries)) this.store(k, v);
    });
  }

  /** True when the key was there. */
  delete(key: string): boolean {
    return this.db.write.query("DELETE FROM certificates WHERE key = ?").run(key).changes > 0;
  }

  /** A certificate obtained from an issuer, with its key and certmagic's metadata. */
  storeCertificate(issuer: string, name: string, pair: PemPair, notAfter: Date): void {
    const prefix = certificateKeyPrefix(issuer, name);
    this.storeAll({
      [`${prefix}.crt`]: pair.cert,
      [`${prefix}.key`]: pair.key,
      [`${prefix}.json`]: JSON.stringify({ names: [name], issuer, not_after: notAfter.toISOString() }),
    });
  }

  storeDefaultCertificate(pair: PemPair): void {
    this.storeAll({ [`${DEFAULT_PREFIX}.crt`]: pair.cert, [`${DEFAULT_PREFIX}.key`]: pair.key });
  }
}
