// What a request tells about its client: browser/OS/device families, bot flag,
// referrer origin and the daily visitor hash, computed in the background
// flusher. Only isBotAgent runs on the request path (a cached map lookup).
import { UAParser } from "ua-parser-js";
import { isbot } from "isbot";

export interface ClientInfo {
  browser: string;
  os: string;
  device: string;
  bot: boolean;
}

const UA_CACHE_MAX = 5000;
const uaCache = new Map<string, ClientInfo>();

/** Families from ua-parser-js and the bot flag from isbot; cached per UA string. */
export function classifyUserAgent(ua: string): ClientInfo {
  const hit = uaCache.get(ua);
  if (hit) return hit;
  const r = new UAParser(ua).getResult();
  const info: ClientInfo = {
    browser: r.browser.name ?? "Other",
    os: r.os.name ?? "Other",
    // ua-parser-js leaves desktop browsers without a device type.
    device: r.device.type ?? (r.browser.name || r.os.name ? "desktop" : "other"),
    bot: ua === "" || isbot(ua),
  };
  if (uaCache.size >= UA_CACHE_MAX) uaCache.clear();
  uaCache.set(ua, info);
  return info;
}

/**
 * The referring origin (scheme://host[:port]): no path or query, so a referrer
 * costs at most an origin's bytes however long the header. Null when absent,
 * unparsable, not http(s) or the site itself.
 */
export function referrerOrigin(referrer: string | null, ownHost: string): string | null {
  if (!referrer) return null;
  try {
    const url = new URL(referrer);
    if (url.protocol !== "http:" && url.protocol !== "https:") return null;
    const host = url.hostname.toLowerCase();
    return host === "" || host === ownHost ? null : url.origin;
  } catch {
    return null;
  }
}

const botCache = new Map<string, boolean>();

/** The bot flag alone, for the request path (requests other than documents): isbot, cached per UA string. */
export function isBotAgent(ua: string): boolean {
  const hit = botCache.get(ua);
  if (hit !== undefined) return hit;
  const bot = ua === "" || isbot(ua);
  if (botCache.size >= UA_CACHE_MAX) botCache.clear();
  botCache.set(ua, bot);
  return bot;
}

/** Truncated SHA-256 of (daily salt, IP, User-Agent): 16 hex digits; the IP is not kept. */
export function visitorHash(salt: Uint8Array, ip: string, ua: string): string {
  return new Bun.CryptoHasher("sha256").update(salt).update(ip).update("\n").update(ua).digest("hex").slice(0, 16);
}
