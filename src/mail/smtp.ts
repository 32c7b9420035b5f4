// Inbound SMTP (--smtp ADDR) with smtp-server, and mailparser in a worker
// thread (parse.ts): mail is accepted only for domains sites own (550 at RCPT
// otherwise), up to a size (SIZE advertised; 552 past it), with limits on
// clients, connections and messages per client address, and STARTTLS with the
// stored certificate of the name the client asks for (SNI), or the default
// self-signed one. Each message is stored whole: raw bytes and attachments as
// blobs (large ones staged a chunk at a time), parsed fields in mail_inbox.
// Sending never uses SMTP (the provider's API does).
import { createSecureContext, type SecureContext } from "node:tls";
import { SMTPServer, type SMTPServerSession } from "smtp-server";
import type { Store } from "../db/index.ts";
import type { ListenAddress } from "../core/config.ts";
import { log } from "../log/index.ts";
import { domainOwner } from "../sites/index.ts";
import { parseAddress } from "./address.ts";
import { storeReceived } from "./inbox.ts";
import type { MailMetrics } from "./metrics.ts";
import type { Sanitizer } from "./sanitize.ts";
import type { MailParser } from "./parse.ts";

export interface PemPair {
  cert: string;
  key: string;
}

interface SmtpOptions {
  address: ListenAddress;
  maxBytes: number;
  baseDomain: string | null;
  /** The stored certificate of a name, if any (tls storage). */
  certificateFor(name: string): PemPair | null;
  defaultCertificate: PemPair;
}

const MAX_CLIENTS = 100;
const MAX_CLIENTS_PER_ADDRESS = 10;
const CONNECTIONS_PER_MINUTE = 60; // per client address
const MESSAGES_PER_MINUTE = 60; // per client address
const MAX_RECIPIENTS = 100;

const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

/** Events per key within a sliding minute, bounded in keys. */
class PerMinute {
  private hits = new Map<string, number[]>();
  constructor(private readonly limit: number) {}
  allow(key: string, now = Date.now()): boolean {
    const recent = (this.hits.get(key) ?? []).filter((t) => now - t < 60_000);
    if (recent.length >= this.limit) return false;
    recent.push(now);
    if (this.hits.size > 10_000) this.hits.clear();
    this.hits.set(key, recent);
    return true;
  }
}

export class SmtpListener {
  private server: SMTPServer | null = null;
  private open = new Map<string, number>();
  private connections = new PerMinute(CONNECTIONS_PER_MINUTE);
  private messages = new PerMinute(MESSAGES_PER_MINUTE);
  private contexts = new Map<string, { pem: PemPair; ctx: SecureContext }>();
  port = 0;

  constructor(
    private readonly store: Store,
    private readonly opts: SmtpOptions,
    private readonly metrics: MailMetrics,
    private readonly sanitizer: Sanitizer,
    private readonly parser: MailParser,
    private readonly received: () => void,
  ) {}

  start(): Promise<number> {
    const o = this.opts;
    this.server = new SMTPServer({
      name: o.baseDomain ?? "fazt",
      banner: "fazt ESMTP",
      size: o.maxBytes,
      maxClients: MAX_CLIENTS,
      socketTimeout: 60_000,
      closeTimeout: 5_000,
      authOptional: true,
      disabledCommands: ["AUTH"],
      key: o.defaultCertificate.key,
      cert: o.defaultCertificate.cert,
      SNICallback: (name, cb) => cb(null, this.context(name)),
      logger: false,
      onConnect: (s, cb) => cb(this.admit(s)),
      onClose: (s) => this.release(s),
      onMailFrom: (_a, s, cb) =>
        cb(this.messages.allow(s.remoteAddress) ? null : this.refuse("rate", 450, "4.7.1 too many messages, slow down")),
      onRcptTo: (a, s, cb) => cb(this.recipient(a.address, s)),
      onData: (stream, s, cb) => {
        const parts: Buffer[] = [];
        let size = 0;
        stream.on("data", (c: Buffer) => {
          size += c.length;
          if (size <= o.maxBytes) parts.push(c);
        });
        stream.on("end", () => {
          if (stream.sizeExceeded || size > o.maxBytes)
            return cb(this.refuse("too_large", 552, `5.3.4 message larger than ${o.maxBytes} bytes`));
          this.storeMessage(Buffer.concat(parts), s).then(
            (id) => cb(null, `queued as ${id}`),
            (err: Error) => {
              log.error("smtp: storing a message failed", { err });
              cb(smtpError(451, "4.3.0 could not store the message, try again"));
            },
          );
        });
      },
    });
    this.server.on("error", (err) => log.warn("smtp error", { err }));
    return new Promise((resolve, reject) => {
      const srv = (this.server as unknown as { server: import("node:net").Server }).server;
      srv.once("error", reject);
      this.server!.listen(o.address.port, o.address.hostname, () => {
        srv.off("error", reject);
        this.port = (srv.address() as { port: number }).port;
        resolve(this.port);
      });
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private refuse(reason: string, code: number, message: string): Error {
    this.metrics.smtpRefused(reason);
    return smtpError(code, message);
  }

  private admit(s: SMTPServerSession): Error | null {
    const n = this.open.get(s.remoteAddress) ?? 0;
    if (n >= MAX_CLIENTS_PER_ADDRESS) return this.refuse("connections", 421, "4.7.0 too many connections from your address");
    if (!this.connections.allow(s.remoteAddress)) return this.refuse("rate", 421, "4.7.0 too many connections per minute");
    this.open.set(s.remoteAddress, n + 1);
    (s as { admitted?: boolean }).admitted = true;
    return null;
  }

  private release(s: SMTPServerSession): void {
    if (!(s as { admitted?: boolean }).admitted) return;
    const n = (this.open.get(s.remoteAddress) ?? 1) - 1;
    if (n <= 0) this.open.delete(s.remoteAddress);
    else this.open.set(s.remoteAddress, n);
  }

  private recipient(address: string, s: SMTPServerSession): Error | null {
    if (s.envelope.rcptTo.length >= MAX_RECIPIENTS) return this.refuse("recipients", 452, `4.5.3 at most ${MAX_RECIPIENTS} recipients`);
    const a = parseAddress(address);
    if (!a || !domainOwner(this.store, a.domain, this.opts.baseDomain)) {
      return this.refuse("relay", 550, `5.7.1 ${a?.domain ?? address}: no site here receives mail for it`);
    }
    return null;
  }

  /** The stored certificate for an SNI name (the default one when there is none); contexts are kept per certificate. */
  private context(name: string): SecureContext {
    const host = name.toLowerCase();
    const pem = (/^[a-z0-9.-]{1,253}$/.test(host) ? this.opts.certificateFor(host) : null) ?? this.opts.defaultCertificate;
    const cached = this.contexts.get(host);
    if (cached && cached.pem.cert === pem.cert && cached.pem.key === pem.key) return cached.ctx;
    const ctx = createSecureContext({ cert: pem.cert, key: pem.key });
    if (this.contexts.size > 1000) this.contexts.clear();
    this.contexts.set(host, { pem, ctx });
    return ctx;
  }

  private async storeMessage(raw: Buffer, s: SMTPServerSession): Promise<string> {
    const parsed = await this.parser.parse(raw);
    const recipients = s.envelope.rcptTo.map((r) => r.address);
    const from = parsed.from || (s.envelope.mailFrom ? s.envelope.mailFrom.address : "");
    const html = parsed.html;
    const headers = Object.fromEntries(
      parsed.headerLines.map((h) => [
        h.key,
        h.line
          .slice(h.key.length + 1)
          .trim()
          .slice(0, 4000),
      ]),
    );
    const owner = recipients.map((r) => parseAddress(r)).find(Boolean);
    const site = owner ? domainOwner(this.store, owner.domain, this.opts.baseDomain) : null;
    const id = await storeReceived(
      this.store,
      {
        sender: from.slice(0, 1000),
        recipients,
        subject: parsed.subject.slice(0, 2000),
        messageId: parsed.messageId,
        text: parsed.text,
        html,
        safeHtml: await this.sanitizer.sanitize(html),
        headers,
        raw,
        attachments: parsed.attachments,
      },
      site?.siteId ?? null,
    );
    this.metrics.stored("smtp");
    this.received();
    return id;
  }
}
