// Which hostnames get certificates, when they are ordered and renewed, and the
// in-memory set the TLS listener serves. The database is the truth: a
// certificate another process obtained is picked up on the next check.
import * as acme from "acme-client";
import { X509Certificate, createPrivateKey } from "node:crypto";
import type { TlsDeps } from "./deps.ts";
import type { CertStorage, CertificateRef, PemPair } from "./storage.ts";
import type { Locks } from "./locks.ts";
import { RateLimitedError, type AcmeIssuer } from "./acme.ts";
import { defaultCertificate } from "./selfsigned.ts";
import { expireChallenges } from "./challenges.ts";
import { GAVE_UP, attemptsOf, forgetGaveUp, recordAttempt, recordFailure, recordSuccess } from "./attempts.ts";
import { log } from "../log/index.ts";
import type { CounterSeries } from "../metrics/registry.ts";

interface ManagedCert {
  name: string;
  certPem: string;
  keyPem: string;
  issuer: string;
  notBefore: number;
  notAfter: number;
  /** When to renew: a third of the lifetime left, minus a little jitter. */
  renewAt: number;
  /** Where it is stored and when: a changed one is loaded again. */
  keyPrefix: string;
  storedAt: number;
}

export interface TlsEntry {
  cert: string;
  key: string;
  serverName?: string;
}

interface ManagerOptions {
  /** How often to look for missing, due or elsewhere-renewed certificates. */
  checkIntervalMs: number;
  /** Orders running at once. */
  concurrency: number;
}

export const BACKOFF_MIN_MS = 60_000;
export const BACKOFF_MAX_MS = 6 * 3600_000;
const GIVE_UP_AFTER_MS = 30 * 86_400_000;

/** Names that can never get a public certificate. */
function certifiable(name: string): boolean {
  return name.includes(".") && !name.endsWith(".localhost") && !/^[\d.]+$/.test(name) && !name.startsWith("[");
}

export function backoffDelay(failures: number): number {
  return Math.min(BACKOFF_MIN_MS * 2 ** Math.max(0, failures - 1), BACKOFF_MAX_MS);
}

export class CertificateManager {
  private certs = new Map<string, ManagedCert>();
  private wanted = new Set<string>();
  private running = new Set<string>();
  private queued: string[] = [];
  private changeListeners: (() => void)[] = [];
  private timer: ReturnType<typeof setInterval> | null = null;
  private stopped = false;
  private fallback: PemPair | null = null;
  private lastDemand = new Map<string, number>();
  /** Checks run (the loop is alive) and orders started: what an operator, or a test, watches instead of the clock. */
  private readonly checks: CounterSeries;
  private readonly attempts: CounterSeries;

  constructor(
    private readonly app: TlsDeps,
    private readonly issuer: AcmeIssuer,
    private readonly storage: CertStorage,
    private readonly locks: Locks,
    private readonly opts: ManagerOptions,
  ) {
    this.checks = app.metrics.counter("fazt_acme_checks_total", "Certificate checks run (periodic, at start, on site changes).").labels();
    this.attempts = app.metrics.counter("fazt_acme_attempts_total", "Certificate orders started (first ones and renewals).").labels();
  }

  /** The default certificate and what the database holds; no ordering yet. */
  async load(): Promise<void> {
    this.fallback = await defaultCertificate(this.storage);
    expireChallenges(this.app.store);
    this.wanted = this.computeWanted();
    this.reloadStored();
  }

  /** Order what is missing now, then check periodically. */
  start(): void {
    this.check();
    this.timer = setInterval(() => this.check(), this.opts.checkIntervalMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.queued = [];
    this.locks.releaseAll();
  }

  /** Called with no arguments whenever the set of served certificates changes. */
  onChange(fn: () => void): void {
    this.changeListeners.push(fn);
  }

  /** The listener's `tls` array: the default certificate first, then one per name. */
  tlsEntries(): TlsEntry[] {
    const entries: TlsEntry[] = [{ cert: this.fallback!.cert, key: this.fallback!.key }];
    for (const c of this.certs.values()) {
      if (this.wanted.has(c.name)) entries.push({ cert: c.certPem, key: c.keyPem, serverName: c.name });
    }
    return entries;
  }

  hasCertificate(host: string): boolean {
    const c = this.certs.get(host);
    return c !== undefined && this.wanted.has(host) && c.notAfter > Date.now();
  }

  /** On-demand: a request for an owned host with no certificate yet. Never for a host no site owns. */
  requested(host: string): void {
    if (this.stopped || !this.wanted.has(host) || this.certs.has(host)) return;
    // At most one look at the back-off state per host every few seconds, however busy.
    const now = Date.now();
    if ((this.lastDemand.get(host) ?? 0) > now - 5_000) return;
    this.lastDemand.set(host, now);
    this.schedule(host);
  }

  /** Sites or domains changed: newly owned names are ordered at once. */
  sitesChanged(): void {
    const before = this.wanted;
    this.wanted = this.computeWanted();
    const added = [...this.wanted].filter((n) => !before.has(n));
    // A name given up on gets a fresh start when it is (re)added.
    for (const n of added) forgetGaveUp(this.app.store, n);
    const removed = [...before].filter((n) => !this.wanted.has(n));
    // The served set changes only when a name that has a certificate comes or goes.
    if ([...added, ...removed].some((n) => this.certs.has(n))) this.changed();
    this.check();
  }

  private computeWanted(): Set<string> {
    const names = this.app.routes.ownedHosts();
    if (this.app.config.domain) names.push(...this.app.routes.adminHostNames());
    return new Set(names.filter(certifiable));
  }

  /** Order what is missing or due, and pick up certificates stored by another process. */
  private check(): void {
    if (this.stopped) return;
    this.checks.inc();
    try {
      if (this.reloadStored()) this.changed();
      const now = Date.now();
      for (const name of this.wanted) {
        const c = this.certs.get(name);
        if (!c || now >= c.renewAt) this.schedule(name);
      }
    } catch (e) {
      // e.g. the database busy beyond its timeout: the next check tries again
      log.error("certificate check failed", { err: e as Error });
    }
  }

  private schedule(name: string): void {
    if (this.running.has(name) || this.queued.includes(name) || !this.due(name)) return;
    this.queued.push(name);
    this.pump();
  }

  private pump(): void {
    while (!this.stopped && this.running.size < this.opts.concurrency && this.queued.length > 0) {
      const name = this.queued.shift()!;
      this.running.add(name);
      void this.obtain(name)
        .catch((e: Error) => {
          if (!this.stopped) log.error("certificate attempt failed", { name, err: e });
        })
        .finally(() => {
          this.running.delete(name);
          this.pump();
        });
    }
  }

  private due(name: string): boolean {
    const s = attemptsOf(this.app.store, name);
    return !s || Date.now() >= s.next_attempt_at;
  }

  private async obtain(name: string): Promise<void> {
    const lock = `cert:${name}`;
    try {
      await this.locks.acquire(lock);
    } catch (e) {
      if (!this.stopped) log.warn("certificate lock busy", { name, err: e as Error });
      return;
    }
    try {
      if (this.stopped) return;
      // Another process may have got it while we waited for the lock.
      if (this.reloadStored()) this.changed();
      const have = this.certs.get(name);
      if ((have && Date.now() < have.renewAt) || !this.wanted.has(name) || !this.due(name)) return;
      recordAttempt(this.app.store, name);
      this.attempts.inc();
      const renewing = have !== undefined;
      log.info(renewing ? "renewing certificate" : "obtaining certificate", { name, issuer: this.issuer.key });
      const issued = await this.issuer.obtain(name);
      if (this.stopped) return;
      const info = acme.crypto.readCertificateInfo(issued.certPem);
      this.storage.storeCertificate(this.issuer.key, name, { cert: issued.certPem, key: issued.keyPem }, info.notAfter);
      this.issuer.forgetOrder(name);
      recordSuccess(this.app.store, name);
      this.reloadStored();
      log.info(renewing ? "certificate renewed" : "certificate obtained", { name, not_after: info.notAfter.toISOString() });
      this.changed();
    } catch (e) {
      if (!this.stopped) this.failed(name, e as Error);
    } finally {
      try {
        this.locks.release(lock);
      } catch {
        // the database is already closed at shutdown: the lock row expires by itself
      }
    }
  }

  private failed(name: string, err: Error): void {
    const now = Date.now();
    const prev = attemptsOf(this.app.store, name);
    const failures = (prev?.failures ?? 0) + 1;
    const firstFailure = prev?.first_failure_at ?? now;
    let next = now + backoffDelay(failures);
    if (err instanceof RateLimitedError) next = Math.max(next, err.retryAt);
    const gaveUp = now - firstFailure >= GIVE_UP_AFTER_MS;
    if (gaveUp) next = GAVE_UP;
    const lastError = err.message.slice(0, 1000);
    recordFailure(this.app.store, { name, failures, first_failure_at: firstFailure, last_error: lastError, next_attempt_at: next });
    log.warn(gaveUp ? "certificate: giving up after 30 days of failures" : "certificate order failed", {
      name,
      failures,
      retry_at: gaveUp ? null : new Date(next).toISOString(),
      err,
    });
  }

  /** Load stored certificates that are new or changed; true when the served set changed. */
  private reloadStored(): boolean {
    let changed = false;
    for (const ref of this.storage.listCertificates()) {
      const current = this.certs.get(ref.name);
      if (current && current.keyPrefix === ref.keyPrefix && current.storedAt === ref.updatedAt) continue;
      const loaded = this.loadCert(ref);
      // Several issuers may hold one name: serve the one that lasts longest.
      if (loaded && (!current || loaded.notAfter > current.notAfter || current.keyPrefix === ref.keyPrefix)) {
        this.certs.set(ref.name, loaded);
        changed = true;
      }
    }
    return changed;
  }

  private loadCert(ref: CertificateRef): ManagedCert | null {
    const pair = this.storage.certificatePair(ref);
    if (!pair) return null;
    const { cert: certPem, key: keyPem } = pair;
    try {
      // A pair Bun.serve would refuse must never reach the listener (it would not start).
      if (!new X509Certificate(certPem).checkPrivateKey(createPrivateKey(keyPem))) throw new Error("certificate and key do not match");
      const info = acme.crypto.readCertificateInfo(certPem);
      const notBefore = info.notBefore.getTime();
      const notAfter = info.notAfter.getTime();
      const lifetime = Math.max(0, notAfter - notBefore);
      const jitter = Math.random() * (lifetime / 30);
      return {
        name: ref.name,
        certPem,
        keyPem,
        issuer: info.issuer.commonName ?? "",
        notBefore,
        notAfter,
        renewAt: notAfter - lifetime / 3 - jitter,
        keyPrefix: ref.keyPrefix,
        storedAt: ref.updatedAt,
      };
    } catch (e) {
      log.warn("unreadable stored certificate", { name: ref.name, key: ref.keyPrefix, err: e as Error });
      return null;
    }
  }

  private changed(): void {
    for (const fn of this.changeListeners) fn();
  }
}
