// The server's configuration, as read from flags and FAZT_* variables.
export interface Limits {
  maxFileBytes: number;
  maxDeployBytes: number;
  maxFiles: number;
  maxPathLength: number;
  keepDeploys: number;
  /** Deploy writes stop (507) while the database's file system has less than this free: room for cleanup, checkpoints, other writes. */
  minFreeDiskBytes: number;
}

export interface ServerConfig {
  dbPath: string;
  http: ListenAddress | null;
  https: ListenAddress | null;
  domain: string | null;
  acmeEmail: string | null;
  acmeDirectory: string;
  acmeCaRoot: string | null;
  smtp: ListenAddress | null;
  mailWebhookSecret: string | null;
  trustProxy: boolean;
  /** One JSON line per request on stderr (--access-log). */
  accessLog: boolean;
  limits: Limits;
  analytics: AnalyticsConfig;
  mail: MailConfig;
  forms: FormsConfig;
}

export interface FormsConfig {
  /** Submissions one client may make per minute, over all sites (--forms-client-rate). */
  clientPerMinute: number;
  /** Submissions one site may receive per minute (--forms-site-rate). */
  sitePerMinute: number;
  /** Bytes one site's stored submissions may hold, files included (--forms-max-bytes). */
  siteMaxBytes: number;
}

export const DEFAULT_FORMS: FormsConfig = { clientPerMinute: 10, sitePerMinute: 120, siteMaxBytes: 256 * 1024 * 1024 };

export interface MailConfig {
  /** Sender domains allowed besides those sites own (--mail-allow-from). */
  allowFrom: string[];
  /** Messages one site may send per minute (--mail-rate). */
  sitePerMinute: number;
  /** Provider API calls per second (--mail-provider-rate); null: the limit the provider announces. */
  providerPerSecond: number | null;
  /** Largest message the SMTP listener accepts (--smtp-max-bytes). */
  smtpMaxBytes: number;
}

export const DEFAULT_MAIL: MailConfig = { allowFrom: [], sitePerMinute: 60, providerPerSecond: null, smtpMaxBytes: 25 * 1024 * 1024 };

export interface AnalyticsConfig {
  /** Off only for benchmarks (--analytics off): no events, no buffer. */
  enabled: boolean;
  /** Days raw events are kept; hourly rollups are kept for good. */
  retentionDays: number;
  /** Most bytes raw events may take (estimated); the oldest go first past it. */
  maxBytes: number;
}

export interface ListenAddress {
  hostname: string;
  port: number;
}

export const LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory";

export const DEFAULT_ANALYTICS: AnalyticsConfig = { enabled: true, retentionDays: 30, maxBytes: 256 * 1024 * 1024 };

export const DEFAULT_LIMITS: Limits = {
  maxFileBytes: 100 * 1024 * 1024,
  maxDeployBytes: 1024 * 1024 * 1024,
  maxFiles: 50_000,
  maxPathLength: 1024,
  keepDeploys: 10,
  minFreeDiskBytes: 64 * 1024 * 1024,
};

/** "host:port", ":port", "[::1]:port" or "port". */
export function parseListenAddress(value: string): ListenAddress {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*))?:?(\d{1,5})$/.exec(value.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || !(port >= 0 && port <= 65535)) throw new Error(`invalid listen address "${value}" (want host:port or :port)`);
  return { hostname: m[1] ?? (m[2] || "0.0.0.0"), port };
}

export function formatAddress(a: ListenAddress): string {
  return a.hostname.includes(":") ? `[${a.hostname}]:${a.port}` : `${a.hostname}:${a.port}`;
}

/** A configuration with every default and no listener (in-process use: tests, benches), with `over` applied. */
export function defaultConfig(over: Partial<ServerConfig> = {}): ServerConfig {
  return {
    dbPath: "",
    http: null,
    https: null,
    domain: null,
    acmeEmail: null,
    acmeDirectory: LETS_ENCRYPT,
    acmeCaRoot: null,
    smtp: null,
    mailWebhookSecret: null,
    trustProxy: false,
    accessLog: false,
    limits: DEFAULT_LIMITS,
    analytics: DEFAULT_ANALYTICS,
    mail: DEFAULT_MAIL,
    forms: DEFAULT_FORMS,
    ...over,
  };
}
