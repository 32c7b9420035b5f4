// What a request tells about its client, computed in the background flusher
// (never on the request path): browser/OS/device families, bot flag,
// referrer host and the daily visitor hash.
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

/** The referring host, or null when absent, unparsable or the site itself. */
export function referrerHost(referrer: string | null, ownHost: string): string | null {
  if (!referrer) return null;
  try {
    const host = new URL(referrer).hostname.toLowerCase();
    return host === "" || host === ownHost ? null : host;
  } catch {
    return null;
  }
}

/** Truncated SHA-256 of (daily salt, IP, User-Agent): 16 hex digits; the IP is not kept. */
export function visitorHash(salt: Uint8Array, ip: string, ua: string): string {
  return new Bun.CryptoHasher("sha256").update(salt).update(ip).update("\n").update(ua).digest("hex").slice(0, 16);
}
