// Obtaining certificates by ACME HTTP-01 (acme-client). Everything the CA
// gave us lives in the database: the account key, the pending order (so a
// restart resumes it instead of ordering again) and the challenge answers
// (served by the HTTP listener of any process on this database).
import * as acme from "acme-client";
import https from "node:https";
import { rootCertificates } from "node:tls";
import type { Store } from "../db/index.ts";
import { accountKeys, orderKey, type CertStorage } from "./storage.ts";
import { clearChallenges, saveChallenge } from "./challenges.ts";
import type { Locks } from "./locks.ts";
import { log } from "../log/index.ts";

interface AcmeOptions {
  directory: string;
  email: string | null;
  /** Extra root CA (PEM) trusted for the ACME server's HTTPS, added to the system roots. */
  caRoot: string | null;
}

interface IssuedCertificate {
  certPem: string;
  keyPem: string;
}

/** The CA said to slow down; no attempt before retryAt. */
export class RateLimitedError extends Error {
  constructor(
    message: string,
    readonly retryAt: number,
  ) {
    super(message);
  }
}

interface PendingOrder {
  url: string;
  keyPem: string;
  createdAt: number;
}

/** certmagic's issuer key: the directory's host and path, safe as a path component. */
export function issuerKey(directory: string): string {
  const u = new URL(directory);
  return `${u.host}${u.pathname}`.replace(/[^A-Za-z0-9.-]+/g, "-").replace(/-+$/, "");
}

let httpConfigured = false;

interface AxiosFailure {
  response?: {
    status: number;
    headers: Record<string, string | undefined>;
    data: unknown;
    config: { retryValidateStatus?: ((s: number) => boolean) | null };
  };
}

function rateLimited(resp: NonNullable<AxiosFailure["response"]>): RateLimitedError {
  const header = resp.headers["retry-after"];
  const seconds = header && /^\d+$/.test(header) ? Number(header) : header ? (Date.parse(header) - Date.now()) / 1000 : NaN;
  const retryAt = Date.now() + (Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : 3600_000);
  const detail = (resp.data as { detail?: string } | undefined)?.detail ?? "rate limited";
  return new RateLimitedError(`rate limited by the CA: ${detail}`, retryAt);
}

/**
 * acme-client's HTTP client is one shared axios instance. Trust the extra
 * root there, and replace its response interceptor (which retries with
 * sleeps and, for an error without a response such as a TLS failure, throws
 * an unrelated TypeError) by one that keeps the real error, turns HTTP 429
 * into a RateLimitedError with the CA's Retry-After, and leaves retrying to
 * the certificate manager's back-off.
 */
function configureHttp(caRoot: string | null): void {
  if (caRoot) acme.axios.defaults.httpsAgent = new https.Agent({ ca: [...rootCertificates, caRoot], keepAlive: true });
  if (httpConfigured) return;
  httpConfigured = true;
  acme.axios.interceptors.response.clear();
  acme.axios.interceptors.response.use(undefined, (error: AxiosFailure) => {
    const resp = error.response;
    if (!resp) throw error;
    if (resp.status === 429) throw rateLimited(resp);
    // acme-client's request interceptor defers status checks to here.
    const valid = resp.config.retryValidateStatus;
    if (!valid || valid(resp.status)) return resp;
    throw error;
  });
}

/** acme-client reports a failed authorization as its JSON: keep the challenge's problem detail. */
function challengeProblem(message: string): string {
  try {
    const authz = JSON.parse(message) as { challenges?: { error?: { type?: string; detail?: string } }[] };
    const problem = authz.challenges?.find((c) => c.error)?.error;
    if (problem) return `${problem.detail ?? ""} (${problem.type ?? "unknown"})`;
  } catch {
    // not JSON: already a message
  }
  return message;
}

export class AcmeIssuer {
  readonly key: string;
  private client: Promise<acme.Client> | null = null;

  constructor(
    private readonly db: Store,
    private readonly storage: CertStorage,
    private readonly locks: Locks,
    private readonly opts: AcmeOptions,
  ) {
    this.key = issuerKey(opts.directory);
    configureHttp(opts.caRoot);
  }

  /** The ACME account, created once per issuer and email and kept in the database. */
  private account(): Promise<acme.Client> {
    this.client ??= this.locks
      .withLock(`acme_account:${this.key}`, async () => {
        const keys = accountKeys(this.key, this.opts.email);
        let keyPem = this.storage.loadText(keys.key);
        const saved = this.storage.loadText(keys.json);
        if (!keyPem) keyPem = (await acme.crypto.createPrivateEcdsaKey()).toString();
        const accountUrl = saved ? (JSON.parse(saved) as { url: string }).url : undefined;
        const client = new acme.Client({
          directoryUrl: this.opts.directory,
          accountKey: keyPem,
          accountUrl,
          backoffAttempts: 30,
          backoffMin: 500,
          backoffMax: 5_000,
        });
        if (!accountUrl) {
          await client.createAccount({
            termsOfServiceAgreed: true,
            ...(this.opts.email ? { contact: [`mailto:${this.opts.email}`] } : {}),
          });
          this.storage.storeAll({
            [keys.key]: keyPem,
            [keys.json]: JSON.stringify({ url: client.getAccountUrl(), email: this.opts.email }),
          });
          log.info("acme account created", { issuer: this.key, url: client.getAccountUrl() });
        }
        return client;
      })
      .catch((e) => {
        this.client = null;
        throw e;
      });
    return this.client;
  }

  /**
   * Get a certificate for one name. The caller holds the name's lock. A
   * pending order from an earlier (maybe killed) run is resumed.
   */
  async obtain(name: string): Promise<IssuedCertificate> {
    const client = await this.account();
    let pending = this.loadPendingOrder(name);
    let order: acme.Order | null = null;
    if (pending) {
      order = await client.getOrder({ url: pending.url } as acme.Order).catch(() => null);
      const usable = order && order.status !== "invalid" && Date.parse(order.expires ?? "") > Date.now() + 60_000;
      if (usable) log.info("acme order resumed", { name, order: pending.url, status: order!.status });
      else {
        log.info("acme order not resumable, ordering afresh", { name, order: pending.url, status: order?.status ?? "unknown" });
        order = null;
      }
    }
    if (!order || !pending) {
      const keyPem = (await acme.crypto.createPrivateEcdsaKey()).toString();
      order = await client.createOrder({ identifiers: [{ type: "dns", value: name }] });
      pending = { url: order.url, keyPem, createdAt: Date.now() };
      this.storage.store(orderKey(this.key, name), JSON.stringify(pending));
      log.info("acme order created", { name, order: order.url });
    }

    try {
      if (order.status === "pending") {
        for (const authz of await client.getAuthorizations(order)) {
          if (authz.status === "valid") continue;
          const challenge = authz.challenges.find((c) => c.type === "http-01");
          if (!challenge) throw new Error(`the CA offers no http-01 challenge for ${name}`);
          const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
          log.debug("acme http-01 challenge stored", { name, token: challenge.token, status: challenge.status });
          saveChallenge(this.db, challenge.token, keyAuthorization, name);
          if (challenge.status === "pending") await client.completeChallenge(challenge);
          log.debug("acme waiting for validation", { name, authz: authz.url });
          await client.waitForValidStatus(authz).catch((e: Error) => {
            throw new Error(`validation of ${name} failed: ${challengeProblem(e.message)}`);
          });
        }
        order = await client.getOrder(order);
        log.debug("acme authorizations valid", { name, order_status: order.status });
      }
      if (order.status === "ready") {
        log.debug("acme finalizing order", { name });
        const [, csr] = await acme.crypto.createCsr({ altNames: [name] }, pending.keyPem);
        order = await client.finalizeOrder(order, csr);
      }
      const certPem = await client.getCertificate(order);
      log.debug("acme certificate downloaded", { name, bytes: certPem.length });
      return { certPem, keyPem: pending.keyPem };
    } catch (e) {
      // An order the CA has failed cannot be resumed: start afresh next time.
      const now = await client.getOrder(order).catch(() => null);
      if (!now || now.status === "invalid") this.forgetOrder(name);
      throw e;
    } finally {
      // By name, not by token: a resumed order may have been validated before
      // this process saw its challenge. Only the lock holder orders this name.
      clearChallenges(this.db, name);
    }
  }

  /** The order is done (its certificate stored): no resuming it. */
  forgetOrder(name: string): void {
    this.storage.delete(orderKey(this.key, name));
  }

  private loadPendingOrder(name: string): PendingOrder | null {
    const text = this.storage.loadText(orderKey(this.key, name));
    if (!text) return null;
    try {
      return JSON.parse(text) as PendingOrder;
    } catch {
      return null;
    }
  }
}
