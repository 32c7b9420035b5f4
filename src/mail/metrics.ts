// Mail metrics: outbox depth by status (read at scrape time), provider send
// latency and outcomes, refused webhooks and SMTP sessions by reason.
import type { Store } from "../db/index.ts";
import type { Registry } from "../metrics/registry.ts";
import { OUTBOX_STATUSES, outboxDepth } from "./outbox.ts";

export class MailMetrics {
  private readonly sends;
  private readonly sendSeconds;
  private readonly sendMaxSeconds;
  private readonly webhookRefusals;
  private readonly smtpRefusals;
  private readonly received;

  constructor(registry: Registry, store: Store) {
    const depth = registry.gauge("fazt_mail_outbox_messages", "Outbox messages by status", ["status"]);
    registry.onCollect(() => {
      const d = outboxDepth(store);
      for (const s of OUTBOX_STATUSES) depth.labels(s).set(d[s] ?? 0);
    });
    this.sends = registry.counter("fazt_mail_send_requests_total", "Provider send calls by outcome (done, retry, fail)", ["outcome"]);
    this.sendSeconds = registry.counter("fazt_mail_send_seconds_total", "Time spent waiting for the provider's send answers");
    this.sendMaxSeconds = registry.gauge("fazt_mail_send_max_seconds", "Longest provider send call since start");
    this.webhookRefusals = registry.counter("fazt_mail_webhook_refusals_total", "Refused inbound webhooks by reason", ["reason"]);
    this.smtpRefusals = registry.counter("fazt_mail_smtp_refusals_total", "Refused SMTP commands by reason", ["reason"]);
    this.received = registry.counter("fazt_mail_received_total", "Messages stored in the inbox by source", ["source"]);
  }

  sendFinished(outcome: string, seconds: number): void {
    this.sends.labels(outcome).inc();
    this.sendSeconds.labels().inc(seconds);
    const max = this.sendMaxSeconds.labels();
    if (seconds > max.value) max.set(seconds);
  }

  webhookRefused(reason: string): void {
    this.webhookRefusals.labels(reason).inc();
  }

  smtpRefused(reason: string): void {
    this.smtpRefusals.labels(reason).inc();
  }

  stored(source: "smtp" | "webhook"): void {
    this.received.labels(source).inc();
  }
}
