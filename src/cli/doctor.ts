// fazt doctor: one line per check of what a server needs from its machine and
// its database. Exit 1 when any check FAILs; warnings are worth a look but pass.
import { Database } from "bun:sqlite";
import { existsSync, statSync, statfsSync } from "node:fs";
import { Resolver } from "node:dns/promises";
import { networkInterfaces } from "node:os";
import { dirname } from "node:path";
import type { CommandBody } from "./command.ts";
import { str, UsageError } from "./command.ts";
import { dbFlag } from "./common.ts";
import { formatSize, MiB } from "../core/bytes.ts";
import { DEFAULT_LIMITS, formatAddress, parseListenAddress, type ListenAddress } from "../core/config.ts";
import { assertKnownMigrations, assertSqliteFile, databaseKind, DatabaseError, schemaVersion } from "../db/index.ts";
import { listCertificates } from "../tls/index.ts";

type Status = "ok" | "warn" | "FAIL";
interface Finding {
  status: Status;
  check: string;
  detail: string;
}

const DAY_MS = 86_400_000;
/** A WAL this large means checkpoints cannot finish (a reader holds an old snapshot). */
const WAL_WARN_BYTES = 256 * MiB;
/** Let's Encrypt certificates renew 30 days before expiry; still unrenewed at 14 days is a problem. */
const CERT_WARN_DAYS = 14;
const PROBE_TIMEOUT_MS = 2000;

const finding = (status: Status, check: string, detail: string): Finding => ({ status, check, detail });

// ---- ports -----------------------------------------------------------------

type Holder = "free" | "fazt" | "other" | "denied";

async function tryBind(a: ListenAddress): Promise<Holder | "in-use"> {
  try {
    const l = Bun.listen({ hostname: a.hostname, port: a.port, socket: { data() {} } });
    l.stop(true);
    return "free";
  } catch (err) {
    const code = (err as { code?: string }).code;
    if (code === "EADDRINUSE") return "in-use";
    if (code === "EACCES" || code === "EPERM") return "denied";
    throw err;
  }
}

/** Does a Fazt server answer /api/health on this port (as the admin host)? */
async function answersAsFazt(scheme: "http" | "https", a: ListenAddress, adminHost: string): Promise<boolean | "redirect"> {
  const host = a.hostname === "0.0.0.0" ? "127.0.0.1" : a.hostname === "::" ? "[::1]" : formatAddress(a).replace(/:\d+$/, "");
  try {
    const res = await fetch(`${scheme}://${host}:${a.port}/api/health`, {
      headers: { host: adminHost },
      redirect: "manual",
      tls: { rejectUnauthorized: false },
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    if (res.status >= 300 && res.status < 400) {
      return (res.headers.get("location") ?? "").startsWith(`https://${adminHost}`) ? "redirect" : false;
    }
    const body = (await res.json().catch(() => null)) as { ok?: unknown; version?: unknown } | null;
    return body?.ok === true && typeof body.version === "string";
  } catch {
    return false;
  }
}

async function checkPorts(listeners: { scheme: "http" | "https"; addr: ListenAddress }[], adminHost: string): Promise<Finding[]> {
  const out: Finding[] = [];
  const https = listeners.find((l) => l.scheme === "https");
  for (const { scheme, addr } of listeners) {
    const name = `port ${scheme}`;
    const where = formatAddress(addr);
    const bound = await tryBind(addr);
    if (bound === "free") out.push(finding("ok", name, `${where} is free`));
    else if (bound === "denied") out.push(finding("warn", name, `${where}: cannot bind as this user (needs root or CAP_NET_BIND_SERVICE)`));
    else {
      let fazt = await answersAsFazt(scheme, addr, adminHost);
      // Plain HTTP redirects the admin host to HTTPS once it has a certificate.
      if (fazt === "redirect") fazt = https !== undefined && (await answersAsFazt("https", https.addr, adminHost)) === true;
      out.push(fazt ? finding("ok", name, `${where} is held by Fazt`) : finding("FAIL", name, `${where} is held by another program`));
    }
  }
  return out;
}

// ---- DNS -------------------------------------------------------------------

function machineAddresses(): Set<string> {
  const out = new Set<string>();
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) if (!i.internal) out.add(i.address);
  return out;
}

const OFFLINE_CODES = new Set(["ECONNREFUSED", "ETIMEOUT", "EAI_AGAIN", "ESERVFAIL", "ECONNRESET", "ECANCELLED"]);

/** A and AAAA records, or "offline" when no resolver answered. */
async function resolveAll(resolver: Resolver, name: string): Promise<string[] | "offline"> {
  const results = await Promise.allSettled([resolver.resolve4(name), resolver.resolve6(name)]);
  const addrs = results.flatMap((r) => (r.status === "fulfilled" ? r.value : []));
  const offline = results.every((r) => r.status === "rejected" && OFFLINE_CODES.has((r.reason as { code?: string }).code ?? ""));
  return addrs.length === 0 && offline ? "offline" : addrs;
}

async function checkDns(domain: string | null, dnsServer: string | null): Promise<Finding[]> {
  if (!domain) return [finding("ok", "dns", "skipped: no --domain given")];
  const resolver = new Resolver({ timeout: PROBE_TIMEOUT_MS, tries: 1 });
  if (dnsServer) resolver.setServers([dnsServer]);
  const mine = machineAddresses();
  // Any label stands for the wildcard record *.DOMAIN.
  const names = [domain, `admin.${domain}`, `fazt-doctor-check.${domain}`];
  const out: Finding[] = [];
  for (const name of names) {
    const shown = name.startsWith("fazt-doctor-check.") ? `*.${domain}` : name;
    const addrs = await resolveAll(resolver, name);
    if (addrs === "offline") return [finding("warn", "dns", `skipped: no DNS server answered (offline?)`)];
    if (addrs.length === 0) out.push(finding("FAIL", "dns", `${shown} has no A or AAAA record`));
    else if (addrs.some((a) => mine.has(a))) out.push(finding("ok", "dns", `${shown} resolves to this machine (${addrs.join(", ")})`));
    else out.push(finding("warn", "dns", `${shown} resolves to ${addrs.join(", ")}, not an address of this machine (fine behind NAT)`));
  }
  return out;
}

// ---- database --------------------------------------------------------------

function checkDatabase(db: Database, path: string): Finding[] {
  const kind = databaseKind(db);
  if (kind !== "fazt") {
    return [finding("FAIL", "database", `${path} is not a Fazt database (${kind === "empty" ? "empty" : "another application's"})`)];
  }
  const out: Finding[] = [];
  try {
    assertKnownMigrations(db);
  } catch (err) {
    if (!(err instanceof DatabaseError)) throw err;
    out.push(finding("FAIL", "database", err.message));
  }
  const rows = db.query("PRAGMA quick_check").all() as { quick_check: string }[];
  const problems = rows.map((r) => r.quick_check).filter((r) => r !== "ok");
  const more = problems.length > 3 ? ` (+${problems.length - 3} more)` : "";
  out.push(
    problems.length
      ? finding("FAIL", "integrity", `quick_check: ${problems.slice(0, 3).join("; ")}${more}`)
      : finding("ok", "integrity", `quick_check ok (schema ${schemaVersion(db)})`),
  );
  return out;
}

function checkCertificates(db: Database): Finding[] {
  const certs = listCertificates({ read: db });
  if (certs.length === 0) return [finding("ok", "certificates", "none stored")];
  const out: Finding[] = [];
  const now = Date.now();
  for (const c of certs) {
    const name = c.names.join(", ");
    const days = c.not_after ? Math.floor((Date.parse(c.not_after) - now) / DAY_MS) : null;
    const error = c.last_error ? `; last error: ${c.last_error}` : "";
    if (c.state === "expired") out.push(finding("FAIL", "certificate", `${name} expired on ${c.not_after}${error}`));
    else if (c.state === "gave_up" || c.state === "failing") {
      out.push(finding("FAIL", "certificate", `${name}: no certificate, ${c.failures} failed orders${error}`));
    } else if (c.state === "pending") out.push(finding("warn", "certificate", `${name}: being ordered`));
    else if (days !== null && days < CERT_WARN_DAYS) {
      out.push(finding("warn", "certificate", `${name} expires in ${days} days, not renewed yet${error}`));
    } else if (c.failures > 0) out.push(finding("warn", "certificate", `${name}: renewal failed ${c.failures} times${error}`));
  }
  const valid = certs.filter((c) => c.state === "valid").length;
  if (out.length === 0) out.push(finding("ok", "certificates", `${valid} valid`));
  return out;
}

function checkFiles(path: string): Finding[] {
  const out: Finding[] = [];
  const wal = existsSync(`${path}-wal`) ? statSync(`${path}-wal`).size : 0;
  out.push(
    wal > WAL_WARN_BYTES
      ? finding("warn", "wal", `${formatSize(wal)}: checkpoints cannot finish (a long reader: a stuck backup or replica?)`)
      : finding("ok", "wal", formatSize(wal)),
  );
  const dbBytes = statSync(path).size;
  const fs = statfsSync(dirname(path));
  const free = fs.bavail * fs.bsize;
  const total = fs.blocks * fs.bsize;
  const detail = `${formatSize(free)} free of ${formatSize(total)} on ${dirname(path)} (database ${formatSize(dbBytes)})`;
  // Below the serve reserve (--min-free-disk-bytes) deploys stop with 507; below the database's size a VACUUM cannot run.
  if (free < DEFAULT_LIMITS.minFreeDiskBytes || free < dbBytes) {
    out.push(finding("FAIL", "disk", `${detail}: deploys stop, writes may fail`));
  } else if (free < total / 10) out.push(finding("warn", "disk", `${detail}: under 10% free`));
  else out.push(finding("ok", "disk", detail));
  for (const file of [path, `${path}-wal`, `${path}-shm`]) {
    if (!existsSync(file)) continue;
    const mode = statSync(file).mode & 0o777;
    const shown = `${file} ${mode.toString(8).padStart(4, "0")}`;
    // The database holds token hashes and private keys: nobody but its owner may read it.
    const fix = `${shown}: others can access it; run chmod 600 ${file}`;
    out.push(mode & 0o077 ? finding("FAIL", "mode", fix) : finding("ok", "mode", shown));
  }
  return out;
}

function address(value: string | undefined, flag: string): ListenAddress | null {
  if (value === undefined || value === "" || value === "off") return null;
  try {
    return parseListenAddress(value);
  } catch (err) {
    throw new UsageError(`--${flag}: ${(err as Error).message}`);
  }
}

interface DoctorOptions {
  db: string;
  http: ListenAddress | null;
  https: ListenAddress | null;
  domain: string | null;
  dnsServer: string | null;
}

async function runDoctor(opts: DoctorOptions): Promise<Finding[]> {
  const listeners = [
    ...(opts.http ? [{ scheme: "http" as const, addr: opts.http }] : []),
    ...(opts.https ? [{ scheme: "https" as const, addr: opts.https }] : []),
  ];
  const findings = await checkPorts(listeners, opts.domain ? `admin.${opts.domain}` : "localhost");
  findings.push(...(await checkDns(opts.domain, opts.dnsServer)));
  if (!existsSync(opts.db)) return [...findings, finding("FAIL", "database", `${opts.db} does not exist`)];
  assertSqliteFile(opts.db);
  const db = new Database(opts.db, { readonly: true });
  try {
    db.run("PRAGMA busy_timeout = 5000");
    const dbFindings = checkDatabase(db, opts.db);
    findings.push(...dbFindings);
    if (dbFindings.every((f) => f.status !== "FAIL" || f.check === "integrity")) findings.push(...checkCertificates(db));
  } finally {
    db.close();
  }
  findings.push(...checkFiles(opts.db));
  return findings;
}

export const doctorCommand: CommandBody = {
  usage: "[--db PATH] [--http ADDR] [--https ADDR] [--domain NAME [--dns-server IP]]",
  maxArgs: 0,
  flags: {
    ...dbFlag,
    http: { type: "string", description: "the server's plain HTTP listener (as for serve: :8080, :80 with --domain; 'off')" },
    https: { type: "string", description: "the server's TLS listener (as for serve: off, :443 with --domain)" },
    domain: { type: "string", description: "the server's base domain: check its DNS records" },
    "dns-server": { type: "string", description: "ask this DNS server (IP or IP:port) instead of the system's", noEnv: true },
  },
  async run(args) {
    const domain = str(args, "domain")?.toLowerCase().replace(/\.$/, "") || null;
    const dnsServer = str(args, "dns-server") ?? null;
    try {
      if (dnsServer) new Resolver().setServers([dnsServer]);
    } catch {
      throw new UsageError(`--dns-server: "${dnsServer}" is not an IP address (or IP:port)`);
    }
    const findings = await runDoctor({
      db: str(args, "db")!,
      http: address(str(args, "http") ?? (domain ? ":80" : ":8080"), "http"),
      https: address(str(args, "https") ?? (domain ? ":443" : undefined), "https"),
      domain,
      dnsServer,
    });
    for (const f of findings) process.stdout.write(`${f.status.padEnd(4)} ${f.check.padEnd(12)} ${f.detail}\n`);
    return findings.some((f) => f.status === "FAIL") ? 1 : 0;
  },
};
