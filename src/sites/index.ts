// Sites and their custom domains.
import type { Store } from "../db/index.ts";
import { getDomain } from "tldts";
import { HttpError, limitError } from "../http/errors.ts";
import { parseSettings, patchSettings, storedSettingsJson, type SettingsChange, type SiteSettings } from "./settings.ts";

export { DEFAULT_SETTINGS, SettingsPatch, settingsChange, settingsJson, type SiteSettings, type TrailingSlash } from "./settings.ts";

class SiteError extends HttpError {}

export interface Site {
  id: number;
  name: string;
  liveDeployId: string | null;
  settings: SiteSettings;
  createdAt: number;
  domains: string[];
}

/** A site without its domains: what routing and per-site policies read. */
type SiteSummary = Omit<Site, "domains">;

const SITE_NAME_RE = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// Names that would shadow the admin host or preview hosts.
const RESERVED = new Set(["admin", "www-admin", "api"]);

export function validateSiteName(name: unknown): string {
  if (typeof name !== "string" || !SITE_NAME_RE.test(name) || name.includes("--")) {
    throw new SiteError(400, "invalid_name", "site name must be a DNS label: a-z, 0-9 and single dashes, 1-63 characters, lower case");
  }
  if (RESERVED.has(name)) throw new SiteError(400, "reserved_name", `site name "${name}" is reserved`);
  return name;
}

/**
 * Lower-case ASCII (punycode) hostname without trailing dot, or an error.
 * Names that Fazt answers by itself cannot be custom domains: *.localhost,
 * and with --domain the base domain and every name under it (NAME.DOMAIN,
 * admin.DOMAIN).
 */
export function normalizeDomain(input: unknown, baseDomain: string | null = null): string {
  if (typeof input !== "string" || input.length === 0 || input.length > 253) {
    throw new SiteError(400, "invalid_domain", "domain must be a hostname");
  }
  let host: string;
  try {
    const u = new URL(`http://${input.trim().replace(/\.$/, "")}/`);
    if (u.port || u.username || u.pathname !== "/" || u.search || u.hash) throw new Error();
    host = u.hostname;
  } catch {
    throw new SiteError(400, "invalid_domain", `"${input}" is not a valid hostname`);
  }
  const labels = host.split(".");
  const ok = labels.length >= 2 && labels.every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/.test(l)) && !/^\d+$/.test(labels.at(-1)!);
  if (!ok) throw new SiteError(400, "invalid_domain", `"${input}" is not a valid hostname`);
  // A public suffix (co.uk, github.io) is many owners' parent, never one site's name.
  if (getDomain(host, { allowPrivateDomains: true }) === null) {
    throw new SiteError(400, "public_suffix", `${host} is a public suffix (publicsuffix.org); a site may own names under it, not it`);
  }
  if (host.endsWith(".localhost"))
    throw new SiteError(400, "reserved_domain", `${host} is a local name; sites answer at NAME.localhost by themselves`);
  if (baseDomain && (host === baseDomain || host.endsWith(`.${baseDomain}`))) {
    throw new SiteError(
      400,
      "reserved_domain",
      `${host} is under the base domain ${baseDomain}, whose names Fazt assigns itself (NAME.${baseDomain})`,
    );
  }
  return host;
}

interface SiteRow {
  id: number;
  name: string;
  live_deploy_id: string | null;
  settings: string;
  created_at: number;
}

function summary(row: SiteRow): SiteSummary {
  return { id: row.id, name: row.name, liveDeployId: row.live_deploy_id, settings: parseSettings(row.settings), createdAt: row.created_at };
}

function toSite(store: Store, row: SiteRow): Site {
  const domains = (
    store.write.query("SELECT domain FROM domains WHERE site_id = ? ORDER BY domain").all(row.id) as { domain: string }[]
  ).map((d) => d.domain);
  return { ...summary(row), domains };
}

/** Every site without domains, in one query (routing tables, HSTS). */
export function siteSummaries(store: Store): SiteSummary[] {
  return (store.write.query("SELECT * FROM sites").all() as SiteRow[]).map(summary);
}

/** Every custom domain and the id of its site. */
export function allDomains(store: Store): { domain: string; siteId: number }[] {
  return store.write.query("SELECT domain, site_id AS siteId FROM domains").all() as { domain: string; siteId: number }[];
}

export function updateSettings(store: Store, siteName: string, patch: SettingsChange): SiteSettings {
  return store.tx(() => {
    const site = getSite(store, siteName);
    const next = patchSettings(site.settings, patch);
    store.write.query("UPDATE sites SET settings = ? WHERE id = ?").run(JSON.stringify(storedSettingsJson(next)), site.id);
    return next;
  });
}

export function listSites(store: Store): Site[] {
  return (store.write.query("SELECT * FROM sites ORDER BY name").all() as SiteRow[]).map((r) => toSite(store, r));
}

export function findSite(store: Store, name: string): Site | null {
  const row = store.write.query("SELECT * FROM sites WHERE name = ?").get(name) as SiteRow | null;
  return row ? toSite(store, row) : null;
}

export function getSite(store: Store, name: string): Site {
  const site = findSite(store, name);
  if (!site) throw new SiteError(404, "site_not_found", `no site named "${name}"`);
  return site;
}

export function createSite(store: Store, name: unknown, domains: unknown[] = [], baseDomain: string | null = null): Site {
  const siteName = validateSiteName(name);
  const hosts = [...new Set(domains.map((d) => normalizeDomain(d, baseDomain)))];
  return store.tx(() => {
    if (findSite(store, siteName)) throw new SiteError(409, "site_exists", `site "${siteName}" already exists`);
    const { id } = store.write.query("INSERT INTO sites (name, created_at) VALUES (?, ?) RETURNING id").get(siteName, Date.now()) as {
      id: number;
    };
    for (const d of hosts) insertDomain(store, id, d);
    return getSite(store, siteName);
  });
}

/** Each domain costs a certificate order and a routing entry. */
const MAX_DOMAINS_PER_SITE = 100;

function insertDomain(store: Store, siteId: number, domain: string): void {
  const { n } = store.write.query("SELECT count(*) AS n FROM domains WHERE site_id = ?").get(siteId) as { n: number };
  if (n >= MAX_DOMAINS_PER_SITE) throw limitError("too_many_domains", `a site may have at most ${MAX_DOMAINS_PER_SITE} domains`, 400);
  const owner = store.write.query("SELECT site_id FROM domains WHERE domain = ?").get(domain) as { site_id: number } | null;
  if (owner) throw new SiteError(409, "domain_taken", `domain ${domain} already belongs to a site`);
  store.write.query("INSERT INTO domains (domain, site_id, created_at) VALUES (?, ?, ?)").run(domain, siteId, Date.now());
}

export function addDomain(store: Store, siteName: string, domain: unknown, baseDomain: string | null = null): string {
  const host = normalizeDomain(domain, baseDomain);
  store.tx(() => insertDomain(store, getSite(store, siteName).id, host));
  return host;
}

export function removeDomain(store: Store, siteName: string, domain: string): void {
  const site = getSite(store, siteName);
  const host = normalizeDomain(domain);
  const r = store.write.query("DELETE FROM domains WHERE domain = ? AND site_id = ?").run(host, site.id);
  if (r.changes === 0) throw new SiteError(404, "domain_not_found", `site "${siteName}" has no domain ${host}`);
}

export function deleteSite(store: Store, name: string): void {
  const site = getSite(store, name);
  store.tx(() => {
    store.write.query("UPDATE sites SET live_deploy_id = NULL WHERE id = ?").run(site.id);
    store.write.query("DELETE FROM sites WHERE id = ?").run(site.id);
  });
}

/**
 * The site that owns a mail or web host name: a custom domain, or with a base
 * domain NAME.DOMAIN. Null for every other name (including *.localhost).
 */
export function domainOwner(store: Store, host: string, baseDomain: string | null): { siteId: number; siteName: string } | null {
  const h = host.toLowerCase().replace(/\.$/, "");
  const custom = store.write.query("SELECT s.id, s.name FROM domains d JOIN sites s ON s.id = d.site_id WHERE d.domain = ?").get(h) as {
    id: number;
    name: string;
  } | null;
  if (custom) return { siteId: custom.id, siteName: custom.name };
  if (!baseDomain || !h.endsWith(`.${baseDomain}`)) return null;
  const label = h.slice(0, -baseDomain.length - 1);
  if (label.includes(".")) return null;
  const site = store.write.query("SELECT id, name FROM sites WHERE name = ?").get(label) as { id: number; name: string } | null;
  return site ? { siteId: site.id, siteName: site.name } : null;
}
