// What the database says about certificates, per hostname: for
// GET /api/certificates and the fazt_cert_expiry_seconds gauge. Read from the
// database so it is true whichever process obtained the certificate.
import * as acme from "acme-client";
import type { Store } from "../db/index.ts";
import type { TlsDeps } from "./deps.ts";
import { GAVE_UP, allAttempts } from "./attempts.ts";
import { CertReader } from "./storage.ts";

interface CertificateView {
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

interface StoredCert {
  name: string;
  issuer: string;
  notBefore: number;
  notAfter: number;
}

/** Stored ACME certificates, the longest-lasting one per name. */
function storedCertificates(store: Pick<Store, "read">): StoredCert[] {
  const storage = new CertReader(store.read);
  const best = new Map<string, StoredCert>();
  for (const ref of storage.listCertificates()) {
    const pem = storage.certificatePem(ref);
    if (!pem) continue;
    const name = ref.name;
    try {
      const info = acme.crypto.readCertificateInfo(pem);
      const c = { name, issuer: info.issuer.commonName ?? "", notBefore: info.notBefore.getTime(), notAfter: info.notAfter.getTime() };
      if ((best.get(name)?.notAfter ?? -Infinity) < c.notAfter) best.set(name, c);
    } catch {
      // unreadable: listed by its status only
    }
  }
  return [...best.values()];
}

/** Every certificate's state, read through the store's reading connection (fazt doctor passes a read-only one). */
export function listCertificates(store: Pick<Store, "read">): CertificateView[] {
  const certs = new Map(storedCertificates(store).map((c) => [c.name, c]));
  const status = new Map(allAttempts(store).map((s) => [s.name, s]));
  const names = new Set([...certs.keys(), ...status.keys()]);
  const iso = (t: number | undefined) => (t === undefined ? null : new Date(t).toISOString());
  return [...names].sort().map((name) => {
    const c = certs.get(name);
    const s = status.get(name);
    const gaveUp = s !== undefined && s.failures > 0 && s.next_attempt_at >= GAVE_UP;
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
function certExpirySeconds(app: TlsDeps): { name: string; seconds: number }[] {
  const now = Date.now();
  return storedCertificates(app.store).map((c) => ({ name: c.name, seconds: Math.round((c.notAfter - now) / 1000) }));
}

/** Register fazt_cert_expiry_seconds{name}, read at each scrape. */
export function registerCertMetrics(app: TlsDeps): void {
  const gauge = app.metrics.gauge("fazt_cert_expiry_seconds", "Seconds until the stored certificate for a hostname expires.", ["name"]);
  let shown = new Set<string>();
  app.metrics.onCollect(() => {
    const now = new Set<string>();
    for (const { name, seconds } of certExpirySeconds(app)) {
      gauge.labels(name).set(seconds);
      now.add(name);
    }
    for (const name of shown) if (!now.has(name)) gauge.remove(name);
    shown = now;
  });
}
