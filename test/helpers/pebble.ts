// A real ACME CA for tests: Debian's pebble with pebble-challtestsrv as its
// DNS (every name resolves to 127.0.0.1), validating HTTP-01 on fazt's port.
import { writeFileSync } from "node:fs";
import { selfSigned } from "./certs.ts";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { tempDir, cleanup } from "./fazt.ts";
import { Store } from "../../src/db/index.ts";
import { createSite } from "../../src/sites/index.ts";
import { putContent } from "../../src/vfs/content.ts";
import { createDeploy } from "../../src/vfs/deploys.ts";
import { waitFor } from "./wait.ts";

export interface Pebble {
  /** The ACME directory URL (HTTPS). */
  directory: string;
  /** PEM file of the self-signed certificate pebble's API serves (for --acme-ca-root). */
  apiCaFile: string;
  /** PEM file of the root that signs issued certificates (for curl --cacert). */
  issuerRootFile: string;
  stop(): Promise<void>;
}

const handedOut = new Set<number>();

/** A port that was free a moment ago (the kernel picks it), never the same twice in this process. */
export function freePort(): number {
  for (;;) {
    const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = s.port;
    s.stop(true);
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** Wait until url answers (OK, or any status), failing early when one of procs exits. */
async function answering(url: string, ca: string, what: string, procs: Subprocess[], anyStatus = false): Promise<void> {
  let last = "";
  const ready = async () => {
    for (const p of procs) if (p.exitCode !== null) throw new Error(`${what}: a process exited early (${p.exitCode})`);
    try {
      const r = await fetch(url, { tls: { ca } });
      last = `HTTP ${r.status}`;
      return r.ok || anyStatus;
    } catch (e) {
      last = (e as Error).message;
      return false;
    }
  };
  await waitFor(ready, { what: () => `${what} to answer (last: ${last})`, timeoutMs: 10_000, everyMs: 50 });
}

/**
 * Start pebble + challtestsrv. `httpPort` is the port pebble validates
 * HTTP-01 on (fazt's HTTP listener). Options are pebble's env knobs.
 */
export async function startPebble(opts: { httpPort: number; validitySeconds?: number; vaSleepSeconds?: number }): Promise<Pebble> {
  const dir = tempDir("fazt-pebble-");
  const key = join(dir, "api.key");
  const cert = join(dir, "api.pem");
  selfSigned({ cert, key, cn: "pebble test API", days: 2, altNames: "DNS:localhost,IP:127.0.0.1" });
  const acmePort = freePort();
  const mgmtPort = freePort();
  const dnsPort = freePort();
  const challMgmtPort = freePort();
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${acmePort}`,
      managementListenAddress: `127.0.0.1:${mgmtPort}`,
      certificate: cert,
      privateKey: key,
      httpPort: opts.httpPort,
      tlsPort: freePort(),
      ocspResponderURL: "",
      externalAccountBindingRequired: false,
      ...(opts.validitySeconds ? { certificateValidityPeriod: opts.validitySeconds } : {}),
    },
  };
  const configFile = join(dir, "pebble.json");
  writeFileSync(configFile, JSON.stringify(config));

  const procs: Subprocess[] = [];
  const stop = async () => {
    for (const p of procs) p.kill("SIGKILL");
    await Promise.all(procs.map((p) => p.exited));
    cleanup(dir);
  };
  try {
    procs.push(
      Bun.spawn(
        [
          "pebble-challtestsrv",
          "-defaultIPv4",
          "127.0.0.1",
          "-defaultIPv6",
          "",
          "-dns01",
          `127.0.0.1:${dnsPort}`,
          "-http01",
          "",
          "-https01",
          "",
          "-tlsalpn01",
          "",
          "-management",
          `127.0.0.1:${challMgmtPort}`,
        ],
        { stdout: "ignore", stderr: "ignore" },
      ),
    );
    const env: Record<string, string> = { ...process.env, PEBBLE_WFE_NONCEREJECT: "0" } as Record<string, string>;
    if (opts.vaSleepSeconds) env.PEBBLE_VA_SLEEPTIME = String(opts.vaSleepSeconds);
    else env.PEBBLE_VA_NOSLEEP = "1";
    procs.push(
      Bun.spawn(["pebble", "-config", configFile, "-dnsserver", `127.0.0.1:${dnsPort}`], {
        env,
        stdout: "ignore",
        stderr: "ignore",
      }),
    );
    const apiCa = await Bun.file(cert).text();
    await answering(`http://127.0.0.1:${challMgmtPort}/`, apiCa, "challtestsrv", procs, true);
    const directory = `https://127.0.0.1:${acmePort}/dir`;
    await answering(directory, apiCa, "pebble", procs);
    const root = await fetch(`https://127.0.0.1:${mgmtPort}/roots/0`, { tls: { ca: apiCa } });
    const issuerRootFile = join(dir, "issuer-root.pem");
    writeFileSync(issuerRootFile, await root.text());
    return { directory, apiCaFile: cert, issuerRootFile, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A site with domains and one live page, written to the database before fazt starts. */
export function seedSite(dbPath: string, name: string, domains: string[], html: string): void {
  const store = Store.open(dbPath);
  try {
    const site = createSite(store, name, domains);
    const bytes = new TextEncoder().encode(html);
    store.tx(() => {
      const blob = putContent(store, bytes);
      createDeploy(store, site.id, [{ path: "/index.html", blobId: blob.blobId, size: blob.size, mime: "text/html; charset=utf-8" }], {
        activate: true,
      });
    });
  } finally {
    store.close();
  }
}

/** curl over HTTPS to 127.0.0.1:port as `host` (SNI and Host), trusting only `caFile`. */
export async function curlHttps(
  port: number,
  host: string,
  caFile: string,
  path = "/",
): Promise<{ code: number; status: number; body: string; stderr: string }> {
  const p = Bun.spawn(
    [
      "curl",
      "-sS",
      "--max-time",
      "10",
      "--cacert",
      caFile,
      "--resolve",
      `${host}:${port}:127.0.0.1`,
      "-w",
      "\n%{http_code}",
      `https://${host}:${port}${path}`,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [out, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  const nl = out.lastIndexOf("\n");
  return { code, status: Number(out.slice(nl + 1)), body: out.slice(0, nl), stderr };
}

export interface PeerCert {
  subject: string;
  issuer: string;
  serial: string;
}

/** The certificate the TLS listener presents for a server name (openssl s_client). */
export async function peerCert(port: number, serverName: string | null): Promise<PeerCert> {
  const sni = serverName ? ["-servername", serverName] : ["-noservername"];
  const sc = Bun.spawn(["openssl", "s_client", "-connect", `127.0.0.1:${port}`, ...sni], {
    stdin: new TextEncoder().encode(""),
    stdout: "pipe",
    stderr: "ignore",
  });
  const pem = await new Response(sc.stdout).text();
  await sc.exited;
  const x = Bun.spawn(["openssl", "x509", "-noout", "-subject", "-issuer", "-serial"], {
    stdin: new TextEncoder().encode(pem),
    stdout: "pipe",
    stderr: "pipe",
  });
  const out = await new Response(x.stdout).text();
  await x.exited;
  const field = (k: string) => new RegExp(`^${k}=\\s*(.*)$`, "m").exec(out)?.[1]?.trim() ?? "";
  return { subject: field("subject"), issuer: field("issuer"), serial: field("serial") };
}
