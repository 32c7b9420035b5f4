// Automatic HTTPS against a real ACME CA (pebble + challtestsrv), with real
// HTTP-01 validation on fazt's HTTP port, checked with curl and openssl.
import { describe, expect, test, afterEach } from "bun:test";
import { Database } from "bun:sqlite";
import { startFazt, tempDir, cleanup, api, type FaztProcess } from "./helpers/fazt.ts";
import { startPebble, freePort, seedSite, curlHttps, peerCert, until, type Pebble } from "./helpers/pebble.ts";

const stops: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const s of stops.reverse()) await s().catch(() => {});
  stops.length = 0;
});

interface Env {
  pebble: Pebble;
  httpPort: number;
  dir: string;
  db: string;
}

async function ca(opts: { validitySeconds?: number; vaSleepSeconds?: number } = {}): Promise<Env> {
  const httpPort = freePort();
  const pebble = await startPebble({ httpPort, ...opts });
  const dir = tempDir();
  stops.push(async () => cleanup(dir));
  stops.push(() => pebble.stop());
  return { pebble, httpPort, dir, db: `${dir}/fazt.db` };
}

async function serve(env: Env, extra: { args?: string[]; env?: Record<string, string> } = {}): Promise<FaztProcess & { httpsPort: number }> {
  const f = await startFazt({
    dir: env.dir,
    db: env.db,
    args: [
      "--http", `127.0.0.1:${env.httpPort}`,
      "--https", "127.0.0.1:0",
      "--acme-directory", env.pebble.directory,
      "--acme-ca-root", env.pebble.apiCaFile,
      "--acme-email", "ops@example.com",
      ...(extra.args ?? []),
    ],
    env: { FAZT_ACME_CHECK_MS: "250", ...extra.env },
  });
  stops.push(() => f.stop());
  const httpsPort = Number(/"https_port":(\d+)/.exec(f.stderr())?.[1]);
  return Object.assign(f, { httpsPort, url: `http://127.0.0.1:${env.httpPort}` });
}

function logCount(f: FaztProcess, msg: string, name: string): number {
  return f.stderr().split("\n").filter((l) => l.includes(`"msg":"${msg}"`) && l.includes(`"name":"${name}"`)).length;
}

describe("automatic HTTPS with pebble", () => {
  test("a custom domain is served over HTTPS with a pebble-issued certificate; plain HTTP redirects", async () => {
    const env = await ca();
    seedSite(env.db, "blog", ["blog.example.com"], "<h1>hello blog</h1>");
    const f = await serve(env);

    const res = await until("the HTTPS page", async () => {
      const r = await curlHttps(f.httpsPort, "blog.example.com", env.pebble.issuerRootFile);
      return r.code === 0 ? r : null;
    });
    expect(res.status).toBe(200);
    expect(res.body).toBe("<h1>hello blog</h1>");
    const cert = await peerCert(f.httpsPort, "blog.example.com");
    expect(cert.subject).toContain("blog.example.com");
    expect(cert.issuer).toContain("Pebble");

    // Plain HTTP now answers 308 to HTTPS, keeping path and query.
    const plain = await fetch(`${f.url}/a/b?c=1`, { headers: { host: "blog.example.com" }, redirect: "manual" });
    expect(plain.status).toBe(308);
    expect(plain.headers.get("location")).toBe(`https://blog.example.com:${f.httpsPort}/a/b?c=1`);
    // ...except the ACME challenge path (an unknown token: 404, not a redirect).
    const chal = await fetch(`${f.url}/.well-known/acme-challenge/nope`, { headers: { host: "blog.example.com" }, redirect: "manual" });
    expect(chal.status).toBe(404);

    // The API lists it with issuer and validity.
    const list = (await (await api(f, "/api/certificates")).json()) as { certificates: Record<string, unknown>[] };
    const entry = list.certificates.find((c) => (c.names as string[]).includes("blog.example.com"))!;
    expect(entry.issuer).toContain("Pebble");
    expect(Date.parse(entry.not_after as string)).toBeGreaterThan(Date.now());
    expect(entry.last_error).toBeNull();
    expect(await f.stop()).toBe(0);

    // Keys and certificates are in the database only; no lock is left behind.
    const db = new Database(env.db, { readonly: true });
    const keys = (db.query("SELECT key FROM certificates ORDER BY key").all() as { key: string }[]).map((r) => r.key);
    expect(keys.some((k) => /^certificates\/[^/]+\/blog\.example\.com\/blog\.example\.com\.crt$/.test(k))).toBe(true);
    expect(keys.some((k) => /^acme\/[^/]+\/users\/ops@example\.com\/account\.key$/.test(k))).toBe(true);
    expect(db.query("SELECT COUNT(*) AS n FROM locks").get()).toEqual({ n: 0 });
    expect(db.query("SELECT COUNT(*) AS n FROM acme_challenges").get()).toEqual({ n: 0 });
    db.close();
  }, 60_000);
});
