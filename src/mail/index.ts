// Mail, wired together: the outbox sender and the inbound fetcher (both need
// RESEND_API_KEY), the webhook, and the SMTP listener with --smtp.
import type { Store } from "../db/index.ts";
import type { ServerConfig } from "../core/config.ts";
import type { Registry } from "../metrics/registry.ts";
import { formatAddress } from "../core/config.ts";
import { log } from "../log/index.ts";
import { InboxFetcher } from "./fetcher.ts";
import { MailMetrics } from "./metrics.ts";
import { ProviderPace } from "./pace.ts";
import { MailProvider } from "./provider.ts";
import { retryPolicy } from "./retry.ts";
import { Sanitizer } from "./sanitize.ts";
import { MailParser } from "./parse.ts";
import { OutboxSender } from "./sender.ts";
import { SmtpListener, type PemPair } from "./smtp.ts";
import { EmailWebhook, webhookKey } from "./webhook.ts";
import { detachSiteOutbox } from "./outbox.ts";
import { detachSiteInbox } from "./inbox.ts";

export {
  MAIL_BODY_LIMIT,
  MailInput,
  queueMail,
  senderSite,
  listOutbox,
  getOutboxMessage,
  retryMessage,
  OUTBOX_STATUSES,
} from "./outbox.ts";
export { listInbox, getInboxMessage, inboxAttachment, deleteInboxMessage } from "./inbox.ts";

/**
 * Before a site goes, up to `max` of its mail rows (outbox, then inbox) become
 * the admin's, as the foreign key's SET NULL would do in one statement; returns how many.
 */
export function detachSiteMail(store: Store, siteId: number, max: number): number {
  return detachSiteOutbox(store, siteId, max) || detachSiteInbox(store, siteId, max);
}
export { webhookKey } from "./webhook.ts";
export { parseDomainList, parseAddress } from "./address.ts";

/** What mail uses of the running server (server/App provides it). */
interface MailDeps {
  readonly store: Store;
  readonly config: Readonly<ServerConfig>;
  readonly metrics: Registry;
  onShutdown(fn: () => Promise<void> | void): void;
  /** Mail was queued or received: the workers look for work at once. */
  onMailChanged(fn: () => void): void;
  mailChanged(): void;
}

const metricsOf = new WeakMap<object, MailMetrics>();

/** One MailMetrics per app (the API and the workers share it). */
function mailMetrics(app: MailDeps): MailMetrics {
  let m = metricsOf.get(app);
  if (!m) metricsOf.set(app, (m = new MailMetrics(app.metrics, app.store)));
  return m;
}

export function emailWebhook(app: MailDeps): EmailWebhook {
  const secret = app.config.mailWebhookSecret;
  return new EmailWebhook(app.store, secret ? webhookKey(secret) : null, app.config.domain, mailMetrics(app), () => app.mailChanged());
}

/** Outbound sending is possible only with the provider's key. */
export function canSend(): boolean {
  return Boolean(process.env.RESEND_API_KEY);
}

interface TlsSource {
  certificateFor(name: string): PemPair | null;
  defaultCertificate(): Promise<PemPair>;
}

/** Start the workers (and the SMTP listener with --smtp); they stop with the app. Returns the SMTP port. */
export async function startMail(app: MailDeps, tls: TlsSource): Promise<number | null> {
  const policy = retryPolicy();
  const metrics = mailMetrics(app);
  const config = app.config;
  const pace = new ProviderPace(config.mail.providerPerSecond, Date.now, (perSecond) =>
    log.info("mail: pacing provider calls to the limit it announces", { per_second: perSecond }),
  );
  const provider = MailProvider.fromEnv(pace, policy.timeoutMs, config.mail.smtpMaxBytes);
  if (!provider) log.info("RESEND_API_KEY is not set: POST /api/mail is refused and webhook bodies are not fetched");
  const sanitizer = new Sanitizer();
  app.onShutdown(() => sanitizer.stop());
  const fetcher = new InboxFetcher(app.store, provider, policy, sanitizer, config.mail.smtpMaxBytes);
  fetcher.start();
  app.onShutdown(() => fetcher.stop());
  if (provider) {
    const sender = new OutboxSender(app.store, provider, policy, metrics, config.mail.sitePerMinute);
    sender.start();
    app.onMailChanged(() => sender.wake());
    app.onShutdown(async () => {
      await sender.stop();
      provider.stop();
    });
  }
  app.onMailChanged(() => fetcher.wake());
  if (!config.smtp) return null;
  const parser = new MailParser();
  app.onShutdown(() => parser.stop());
  const smtp = new SmtpListener(
    app.store,
    {
      address: config.smtp,
      maxBytes: config.mail.smtpMaxBytes,
      baseDomain: config.domain,
      certificateFor: tls.certificateFor,
      defaultCertificate: await tls.defaultCertificate(),
    },
    metrics,
    sanitizer,
    parser,
    () => app.mailChanged(),
  );
  try {
    await smtp.start();
  } catch (err) {
    throw new Error(`cannot listen for SMTP on ${formatAddress(config.smtp)}: ${(err as Error).message}`);
  }
  app.onShutdown(() => smtp.stop());
  return smtp.port;
}
