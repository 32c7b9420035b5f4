// GET /api/certificates: what the database holds, per hostname, with the
// last ACME error; and the expiry gauge for metrics. Read from the database
// so it is true whichever process obtained the certificate.
import { Elysia } from "elysia";
import * as acme from "acme-client";
import * as v from "valibot";
import type { App } from "../core/app.ts";
import { getSite } from "../sites/index.ts";
import { authenticate, requireAdmin, requireSite } from "./auth.ts";
import { parseBody } from "./body.ts";

// HSTS per site: max_age 0 turns it off. Capped at two years (the preload list's maximum).
const Hsts = v.object({
  max_age: v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(63_072_000)),
  include_subdomains: v.optional(v.boolean(), false),
});

export interface CertificateView {
  names: string[];
  /** valid | expired | pending (being ordered) | failing (in back-off) | gave_up (30 days of failures) */
  state: "valid" | "expired" | "pending" | "failing" | "gave_up";
  issuer: string | null;
  not_before: string | null;
  not_after: string | null;
  last_error: string | null;
  failures: number;
  next_attempt_at: string | null;
}

interface StatusRow {
  name: string;
  failures: number;
  last_error: string | null;
  next_attempt_at: number;
}

interface StoredCert {
  name: string;
  issuer: string;
  notBefore: number;
  notAfter: number;
}

/** Stored ACME certificates, the longest-lasting one per name. */
export function storedCertificates(app: App): StoredCert[] {
  const rows = app.store.read
    .query("SELECT key, value FROM certificates WHERE key LIKE 'certificates/%.crt'")
    .all() as { key: string; value: Uint8Array }[];
  const best = new Map<string, StoredCert>();
  for (const { key, value } of rows) {
    const name = /^certificates\/[^/]+\/([^/]+)\/\1\.crt$/.exec(key)?.[1];
    if (!name) continue;
    try {
      const info = acme.crypto.readCertificateInfo(new TextDecoder().decode(value));
      const c = { name, issuer: info.issuer.commonName ?? "", notBefore: info.notBefore.getTime(), notAfter: info.notAfter.getTime() };
      if ((best.get(name)?.notAfter ?? -Infinity) < c.notAfter) best.set(name, c);
    } catch {
      // unreadable: listed by its status only
    }
  }
  return [...best.values()];
}

export function listCertificates(app: App): CertificateView[] {
  const certs = new Map(storedCertificates(app).map((c) => [c.name, c]));
  const status = new Map(
    (app.store.read.query("SELECT name, failures, last_error, next_attempt_at FROM certificate_status").all() as StatusRow[]).map((s) => [s.name, s]),
  );
  const names = new Set([...certs.keys(), ...status.keys()]);
  const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
  return [...names].sort().map((name) => {
    const c = certs.get(name);
    const s = status.get(name);
    const gaveUp = s !== undefined && s.failures > 0 && s.next_attempt_at >= Number.MAX_SAFE_INTEGER;
    const next = s && s.failures > 0 && !gaveUp ? s.next_attempt_at : undefined;
    const state = gaveUp ? "gave_up" : c ? (c.notAfter > Date.now() ? "valid" : "expired") : s && s.failures > 0 ? "failing" : "pending";
    return {
      names: [name],
      state,
      issuer: c?.issuer ?? null,
      not_before: iso(c?.notBefore),
      not_after: iso(c?.notAfter),
      last_error: s?.last_error ?? null,
      failures: s?.failures ?? 0,
      next_attempt_at: iso(next),
    };
  });
}

/** fazt_cert_expiry_seconds: seconds until each stored certificate expires (negative when expired). */
export function certExpirySeconds(app: App): { name: string; seconds: number }[] {
  const now = Date.now();
  return storedCertificates(app).map((c) => ({ name: c.name, seconds: Math.round((c.notAfter - now) / 1000) }));
}

export function certificateRoutes(app: App) {
  return new Elysia()
    .get("/api/certificates", ({ request }) => {
      requireAdmin(authenticate(app, request));
      return { certificates: listCertificates(app) };
    })
    .put("/api/sites/:site/hsts", ({ request, params, body }) => {
      requireSite(authenticate(app, request), getSite(app.store, params.site).id);
      const input = parseBody(Hsts, body);
      const hsts = input.max_age > 0 ? input : null;
      app.store.tx(() => {
        const site = getSite(app.store, params.site);
        const settings = { ...site.settings, hsts: hsts ?? undefined };
        app.store.write.query("UPDATE sites SET settings = ? WHERE id = ?").run(JSON.stringify(settings), site.id);
      });
      app.sitesChanged();
      return { site: params.site, hsts };
    });
}
