import type { CommandBody, ParsedArgs } from "./command.ts";
import { str, UsageError } from "./command.ts";
import {
  DEFAULT_ANALYTICS,
  DEFAULT_FORMS,
  DEFAULT_LIMITS,
  DEFAULT_MAIL,
  LETS_ENCRYPT,
  parseListenAddress,
  formatAddress,
  type ServerConfig,
  type ListenAddress,
} from "../core/config.ts";
import { startServer } from "../server/index.ts";
import { VERSION } from "../core/version.ts";
import { log } from "../log/index.ts";
import { dbFlag } from "./common.ts";
import { parseDomainList, webhookKey } from "../mail/index.ts";

function address(value: string | undefined, flag: string): ListenAddress | null {
  if (value === undefined || value === "" || value === "off") return null;
  try {
    return parseListenAddress(value);
  } catch (err) {
    throw new UsageError(`--${flag}: ${(err as Error).message}`);
  }
}

function positiveInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) throw new UsageError(`--${flag}: expected a positive integer, got "${value}"`);
  return n;
}

function nonNegativeInt(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new UsageError(`--${flag}: expected a non-negative integer, got "${value}"`);
  return n;
}

/** Calls per second: a positive number (0.5 is one call every two seconds), or null to follow the provider. */
function providerRate(value: string | undefined): number | null {
  if (value === undefined) return null;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > 10_000) {
    throw new UsageError(`--mail-provider-rate: expected calls per second between 0 and 10000, got "${value}"`);
  }
  return n;
}

function onOff(value: string | undefined, flag: string, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === "on" || value === "off") return value === "on";
  throw new UsageError(`--${flag}: expected on or off, got "${value}"`);
}

function webhookSecret(value: string | undefined): string | null {
  if (value === undefined || value === "") return null;
  if (!webhookKey(value)) throw new UsageError("--mail-webhook-secret: expected whsec_ followed by base64 (the secret Resend shows)");
  return value;
}

function serveConfig(flags: ParsedArgs): ServerConfig {
  const s = (k: string) => str(flags, k);
  const domain = s("domain")?.toLowerCase().replace(/\.$/, "") || null;
  if (domain !== null && !/^[a-z0-9.-]+\.[a-z0-9-]+$/.test(domain)) throw new UsageError(`--domain: "${domain}" is not a hostname`);
  return {
    dbPath: s("db")!,
    http: address(s("http") ?? (domain ? ":80" : ":8080"), "http"),
    https: address(s("https") ?? (domain ? ":443" : undefined), "https"),
    domain,
    acmeEmail: s("acme-email") ?? null,
    acmeDirectory: s("acme-directory") ?? LETS_ENCRYPT,
    acmeCaRoot: s("acme-ca-root") ?? null,
    smtp: address(s("smtp"), "smtp"),
    mailWebhookSecret: webhookSecret(s("mail-webhook-secret")),
    trustProxy: flags.flags["trust-proxy"] === true,
    accessLog: flags.flags["access-log"] === true,
    limits: {
      maxFileBytes: positiveInt(s("max-file-bytes"), "max-file-bytes", DEFAULT_LIMITS.maxFileBytes),
      maxDeployBytes: positiveInt(s("max-deploy-bytes"), "max-deploy-bytes", DEFAULT_LIMITS.maxDeployBytes),
      maxFiles: positiveInt(s("max-files"), "max-files", DEFAULT_LIMITS.maxFiles),
      maxPathLength: positiveInt(s("max-path-length"), "max-path-length", DEFAULT_LIMITS.maxPathLength),
      keepDeploys: positiveInt(s("keep-deploys"), "keep-deploys", DEFAULT_LIMITS.keepDeploys),
      minFreeDiskBytes: nonNegativeInt(s("min-free-disk-bytes"), "min-free-disk-bytes", DEFAULT_LIMITS.minFreeDiskBytes),
    },
    analytics: {
      enabled: onOff(s("analytics"), "analytics", DEFAULT_ANALYTICS.enabled),
      retentionDays: positiveInt(s("analytics-retention-days"), "analytics-retention-days", DEFAULT_ANALYTICS.retentionDays),
      maxBytes: positiveInt(s("analytics-max-bytes"), "analytics-max-bytes", DEFAULT_ANALYTICS.maxBytes),
    },
    mail: {
      allowFrom: parseDomainList(s("mail-allow-from")),
      sitePerMinute: positiveInt(s("mail-rate"), "mail-rate", DEFAULT_MAIL.sitePerMinute),
      providerPerSecond: providerRate(s("mail-provider-rate")),
      smtpMaxBytes: positiveInt(s("smtp-max-bytes"), "smtp-max-bytes", DEFAULT_MAIL.smtpMaxBytes),
    },
    forms: {
      clientPerMinute: positiveInt(s("forms-client-rate"), "forms-client-rate", DEFAULT_FORMS.clientPerMinute),
      sitePerMinute: positiveInt(s("forms-site-rate"), "forms-site-rate", DEFAULT_FORMS.sitePerMinute),
      siteMaxBytes: positiveInt(s("forms-max-bytes"), "forms-max-bytes", DEFAULT_FORMS.siteMaxBytes),
    },
  };
}

/** Shown once: fazt keeps only a hash, so the banner says where the operator should keep it. */
function announceFirstToken(token: string): void {
  log.info("created the first admin token; it is printed once below, fazt stores only its hash", { token_id: token.slice(4, 16) });
  process.stderr.write(
    `\nFirst admin token (shown only this once):\n  ${token}\n` +
      "Keep it in a password manager, or as FAZT_TOKEN for the fazt CLI; 'fazt token create' on this host makes another.\n\n",
  );
}

export const serveCommand: CommandBody = {
  usage: "[flags]",
  maxArgs: 0,
  flags: {
    ...dbFlag,
    http: { type: "string", description: "plain HTTP listener, host:port or :port (default :8080, :80 with --domain; 'off' disables)" },
    https: { type: "string", description: "TLS listener (default off, :443 with --domain)" },
    domain: { type: "string", description: "base domain: site NAME answers at NAME.DOMAIN, the admin at admin.DOMAIN" },
    "acme-email": { type: "string", description: "ACME account contact" },
    "acme-directory": { type: "string", description: "ACME directory URL (default Let's Encrypt production)" },
    "acme-ca-root": { type: "string", description: "extra root CA (PEM file) to trust for the ACME server" },
    smtp: { type: "string", description: "inbound SMTP listener, host:port or :port (default off; port 25 needs CAP_NET_BIND_SERVICE)" },
    "smtp-max-bytes": { type: "string", description: "largest message the SMTP listener accepts (default 25 MiB)" },
    "mail-webhook-secret": { type: "string", description: "whsec_... secret for POST /api/hooks/email" },
    "mail-allow-from": { type: "string", description: "sender domains allowed besides those sites own, comma-separated" },
    "mail-rate": { type: "string", description: "messages one site may send per minute (default 60)" },
    "mail-provider-rate": {
      type: "string",
      description: "Resend API calls per second at most (default: the limit Resend announces, 2 until it does)",
    },
    "forms-client-rate": { type: "string", description: "form submissions one client may make per minute (default 10)" },
    "forms-site-rate": { type: "string", description: "form submissions one site may receive per minute (default 120)" },
    "forms-max-bytes": { type: "string", description: "bytes a site's form submissions may hold (default 256 MiB)" },
    "trust-proxy": { type: "boolean", description: "trust X-Forwarded-For for client addresses" },
    "access-log": { type: "boolean", description: "one JSON line per request on stderr (written in batches)" },
    "max-file-bytes": { type: "string", description: "largest file in a deploy (default 100 MiB)" },
    "max-deploy-bytes": { type: "string", description: "largest deploy (default 1 GiB)" },
    "max-files": { type: "string", description: "most files in a deploy (default 50000)" },
    "max-path-length": { type: "string", description: "longest file path in a deploy (default 1024)" },
    "keep-deploys": { type: "string", description: "deploys kept per site (default 10)" },
    "min-free-disk-bytes": {
      type: "string",
      description: "deploys stop (507) when less is free on the database's disk (default 64 MiB; 0: off)",
    },
    analytics: { type: "string", description: "record site traffic: on or off (off is for benchmarks; default on)" },
    "analytics-retention-days": {
      type: "string",
      description: "days raw analytics events are kept (default 30; hourly rollups are kept for good)",
    },
    "analytics-max-bytes": {
      type: "string",
      description: "most bytes raw analytics events may take; the oldest go first (default 256 MiB)",
    },
  },
  async run(args) {
    const config = serveConfig(args);
    // Handlers first, so a signal that arrives during start-up still stops us cleanly.
    const stopSignal = new Promise<string>((resolve) => {
      process.once("SIGINT", () => resolve("SIGINT"));
      process.once("SIGTERM", () => resolve("SIGTERM"));
    });
    const server = await startServer(config);
    if (server.createdToken) announceFirstToken(server.createdToken);
    const where = [
      config.http && `http ${formatAddress({ ...config.http, port: server.httpPort ?? config.http.port })}`,
      config.https && `https ${formatAddress({ ...config.https, port: server.httpsPort ?? config.https.port })}`,
      config.smtp && `smtp ${formatAddress({ ...config.smtp, port: server.smtpPort ?? config.smtp.port })}`,
    ].filter(Boolean);
    const admin = config.domain ? `admin.${config.domain}` : "localhost";
    log.info(`fazt ${VERSION} listening on ${where.join(", ")}; admin at ${admin}; db ${config.dbPath}`, {
      http_port: server.httpPort,
      https_port: server.httpsPort,
      smtp_port: server.smtpPort,
    });
    log.info("shutting down", { signal: await stopSignal });
    await server.stop();
    log.info("stopped");
    return 0;
  },
};
