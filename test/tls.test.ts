// Automatic HTTPS against a real ACME CA (pebble + challtestsrv), with real
// HTTP-01 validation on fazt's HTTP port, checked with curl and openssl.
import { describe, expect, test, afterEach, beforeAll } from "bun:test";
import { selfSigned } from "./helpers/certs.ts";
import { readdirSync } from "node:fs";
import { Database } from "bun:sqlite";
import { startFazt, tempDir, cleanup, api, ROOT, type FaztProcess } from "./helpers/fazt.ts";
import { startPebble, freePort, seedSite, curlHttps, peerCert, type Pebble } from "./helpers/pebble.ts";
import { wrk } from "./helpers/wrk.ts";
import { waitFor } from "./helpers/wait.ts";
import { metric } from "./helpers/metrics.ts";

// One test runs the compiled binary: acme-client, x509 and TLS must work inside it too.
beforeAll(() => {
  const r = Bun.spawnSync([process.execPath, "build.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr.toString()}`);
}, 120_000);

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

async function serve(
  env: Env,
  extra: { args?: string[]; env?: Record<string, string>; binary?: boolean } = {},
): Promise<FaztProcess & { httpsPort: number }> {
  const f = await startFazt({
    binary: extra.binary,
    dir: env.dir,
    db: env.db,
    args: [
      "--http",
      `127.0.0.1:${env.httpPort}`,
      "--https",
      "127.0.0.1:0",
      "--acme-directory",
      env.pebble.directory,
      "--acme-ca-root",
      env.pebble.apiCaFile,
      "--acme-email",
      "ops@example.com",
      ...(extra.args ?? []),
    ],
    env: { FAZT_ACME_CHECK_MS: "250", ...extra.env },
  });
  stops.push(() => f.stop());
  const httpsPort = Number(/"https_port":(\d+)/.exec(f.stderr())?.[1]);
  return Object.assign(f, { httpsPort, url: `http://127.0.0.1:${env.httpPort}` });
}

/** Wait until the TLS listener serves a new certificate for name to every new connection (the n-th time). */
async function live(f: FaztProcess, name: string, n = 1): Promise<void> {
  const swaps = () =>
    f
      .stderr()
      .split("\n")
      .filter((l) => l.includes('"msg":"tls listener swapped"') && l.includes(`"${name}"`)).length;
  await waitFor(() => swaps() >= n, { what: `${name} live (${n})`, timeoutMs: 30_000, everyMs: 50 });
}

/** Wait until fazt has run `n` more certificate checks than `since`: each would have started any order that was due. */
async function checksAfter(f: FaztProcess, since: number, n: number): Promise<void> {
  const ran = async () => (await metric(f, "fazt_acme_checks_total")) >= since + n;
  await waitFor(ran, { what: `${n} more certificate checks than ${since}`, timeoutMs: 10_000 });
}

/** The first certificate the API lists with an error, once there is one. */
async function firstFailure(f: FaztProcess): Promise<Record<string, unknown>> {
  const failed = async () => {
    const list = (await (await api(f, "/api/certificates")).json()) as { certificates: Record<string, unknown>[] };
    return list.certificates.find((c) => c.last_error !== null);
  };
  return waitFor(failed, { what: "a certificate failure in the API", timeoutMs: 20_000, everyMs: 100 });
}

function logCount(f: FaztProcess, msg: string, name: string): number {
  return f
    .stderr()
    .split("\n")
    .filter((l) => l.includes(`"msg":"${msg}"`) && l.includes(`"name":"${name}"`)).length;
}

describe("automatic HTTPS with pebble", () => {
  test("dist/fazt: a custom domain is served over HTTPS with a pebble-issued certificate; plain HTTP redirects", async () => {
    const env = await ca();
    seedSite(env.db, "blog", ["blog.example.com"], "<h1>hello blog</h1>");
    const f = await serve(env, { binary: true });

    await live(f, "blog.example.com");
    const res = await curlHttps(f.httpsPort, "blog.example.com", env.pebble.issuerRootFile);
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

    // HSTS is a per-site option, sent over HTTPS only once set.
    const hstsHeader = async () => {
      const p = Bun.spawn(
        [
          "curl",
          "-sS",
          "-o",
          "/dev/null",
          "-D",
          "-",
          "--cacert",
          env.pebble.issuerRootFile,
          "--resolve",
          `blog.example.com:${f.httpsPort}:127.0.0.1`,
          `https://blog.example.com:${f.httpsPort}/`,
        ],
        { stdout: "pipe" },
      );
      const head = await new Response(p.stdout).text();
      return /^strict-transport-security: (.*)\r$/im.exec(head)?.[1] ?? null;
    };
    expect(await hstsHeader()).toBeNull();
    const bad = await api(f, "/api/sites/blog/hsts", { method: "PUT", json: { max_age: -1 } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe("bad_request");
    const set = await api(f, "/api/sites/blog/hsts", { method: "PUT", json: { max_age: 31536000, include_subdomains: true } });
    expect(set.status).toBe(200);
    expect(await hstsHeader()).toBe("max-age=31536000; includeSubDomains");
    await api(f, "/api/sites/blog/hsts", { method: "PUT", json: { max_age: 0 } });
    expect(await hstsHeader()).toBeNull();

    // The API lists it with issuer and validity.
    const list = (await (await api(f, "/api/certificates")).json()) as { certificates: Record<string, unknown>[] };
    const entry = list.certificates.find((c) => (c.names as string[]).includes("blog.example.com"))!;
    expect(entry.issuer).toContain("Pebble");
    expect(entry.state).toBe("valid");
    expect(Date.parse(entry.not_after as string)).toBeGreaterThan(Date.now());
    expect(entry.last_error).toBeNull();
    const metrics = await (await api(f, "/metrics")).text();
    expect(metrics).toMatch(/^fazt_http_requests_total\{host="site",code="3xx"\} [1-9]/m); // the 308 above
    const expiry = Number(/^fazt_cert_expiry_seconds\{name="blog\.example\.com"\} (\S+)$/m.exec(metrics)?.[1]);
    expect(Math.abs(expiry - (Date.parse(entry.not_after as string) - Date.now()) / 1000)).toBeLessThan(60);
    expect(await f.stop()).toBe(0);

    // Keys and certificates are in the database only; no lock is left behind.
    expect(readdirSync(env.dir).filter((n) => !/^fazt\.db(-wal|-shm)?$/.test(n))).toEqual([]);
    const db = new Database(env.db, { readonly: true });
    const keys = (db.query("SELECT key FROM certificates ORDER BY key").all() as { key: string }[]).map((r) => r.key);
    expect(keys.some((k) => /^certificates\/[^/]+\/blog\.example\.com\/blog\.example\.com\.crt$/.test(k))).toBe(true);
    expect(keys.some((k) => /^acme\/[^/]+\/users\/ops@example\.com\/account\.key$/.test(k))).toBe(true);
    expect(db.query("SELECT COUNT(*) AS n FROM locks").get()).toEqual({ n: 0 });
    expect(db.query("SELECT COUNT(*) AS n FROM acme_challenges").get()).toEqual({ n: 0 });
    db.close();
  }, 60_000);

  test("a domain added at runtime is served without restart; SNI picks each certificate; unowned hosts cause no order", async () => {
    const env = await ca();
    seedSite(env.db, "blog", ["blog.example.com"], "<h1>blog</h1>");
    seedSite(env.db, "shop", [], "<h1>shop</h1>");
    const f = await serve(env);
    await live(f, "blog.example.com");

    const added = await api(f, "/api/sites/shop/domains", { method: "POST", json: { domain: "shop.example.org" } });
    expect(added.status).toBe(201);
    await live(f, "shop.example.org");
    const res = await curlHttps(f.httpsPort, "shop.example.org", env.pebble.issuerRootFile);
    expect(res.body).toBe("<h1>shop</h1>");

    // Two certificates on one listener, chosen by SNI; no SNI or an unknown name gets the default.
    expect((await peerCert(f.httpsPort, "blog.example.com")).subject).toContain("blog.example.com");
    expect((await peerCert(f.httpsPort, "shop.example.org")).subject).toContain("shop.example.org");
    expect((await peerCert(f.httpsPort, "nobody.example.net")).subject).toContain("fazt default certificate");
    expect((await peerCert(f.httpsPort, null)).subject).toContain("fazt default certificate");

    // Handshakes and requests for hosts no site owns: no ACME order, no status row.
    const checks = await metric(f, "fazt_acme_checks_total");
    const attempts = await metric(f, "fazt_acme_attempts_total");
    await curlHttps(f.httpsPort, "evil.example.net", env.pebble.issuerRootFile);
    const insecure = Bun.spawn(
      ["curl", "-sk", "--resolve", `evil.example.net:${f.httpsPort}:127.0.0.1`, `https://evil.example.net:${f.httpsPort}/`],
      { stdout: "pipe" },
    );
    await insecure.exited;
    await fetch(`${f.url}/`, { headers: { host: "evil.example.net" } });
    // An order would start within the request or the next check: after two checks, none has.
    await checksAfter(f, checks, 2);
    expect(await metric(f, "fazt_acme_attempts_total")).toBe(attempts);
    expect(f.stderr()).not.toContain("evil.example.net");
    const list = (await (await api(f, "/api/certificates")).json()) as { certificates: { names: string[] }[] };
    expect(list.certificates.map((c) => c.names[0]).sort()).toEqual(["blog.example.com", "shop.example.org"]);
    expect(logCount(f, "acme order created", "blog.example.com")).toBe(1);
    expect(logCount(f, "acme order created", "shop.example.org")).toBe(1);
  }, 60_000);

  test("a certificate is renewed by ACME when a third of its lifetime is left, and served live", async () => {
    const env = await ca({ validitySeconds: 9 });
    seedSite(env.db, "blog", ["blog.example.com"], "<h1>blog</h1>");
    const f = await serve(env);
    await live(f, "blog.example.com");
    const first = await peerCert(f.httpsPort, "blog.example.com");
    expect(first.issuer).toContain("Pebble");
    await live(f, "blog.example.com", 2);
    const renewed = await peerCert(f.httpsPort, "blog.example.com");
    expect(renewed.issuer).toContain("Pebble");
    expect(renewed.serial).not.toBe(first.serial);
    expect(renewed.subject).toContain("blog.example.com");
    expect(logCount(f, "certificate renewed", "blog.example.com")).toBeGreaterThanOrEqual(1);
    // Renewal is a new ACME order, validated over HTTP-01 like the first.
    expect(logCount(f, "acme order created", "blog.example.com")).toBeGreaterThanOrEqual(2);
    expect((await curlHttps(f.httpsPort, "blog.example.com", env.pebble.issuerRootFile)).status).toBe(200);
    expect(f.proc.exitCode).toBeNull(); // the same process, never restarted
  }, 60_000);

  test("killed mid-order, a restart resumes (or cleanly replaces) the order: no duplicate live order, no stale lock", async () => {
    const knobs = { env: { FAZT_ACME_LOCK_TTL_MS: "1500" } };
    // pebble waits a whole number of seconds, 0 to 5 at random, before validating: time
    // to kill fazt while the order is live. At 0 the order may finish before the kill
    // lands; that run tests nothing, so it is started again on a fresh CA and database.
    const killedMidOrder = async () => {
      for (let run = 1; ; run++) {
        const env = await ca({ vaSleepSeconds: 6 });
        seedSite(env.db, "blog", ["blog.example.com"], "<h1>blog</h1>");
        const first = await serve(env, knobs);
        const db = new Database(env.db, { readonly: true });
        stops.push(async () => db.close());
        const locked = () => (db.query("SELECT COUNT(*) AS n FROM locks WHERE name = 'cert:blog.example.com'").get() as { n: number }).n;
        const challenged = () => db.query("SELECT 1 FROM acme_challenges").get() !== null;
        const obtained = () => first.stderr().includes('"msg":"certificate obtained"');
        await waitFor(() => challenged() || obtained(), {
          what: () => `a challenge waiting for validation; fazt said: ${first.stderr().slice(-2000)}`,
          timeoutMs: 20_000,
          everyMs: 10,
        });
        expect(await first.stop("SIGKILL")).not.toBe(0);
        // The attempt ends by releasing the lock: still there, the kill came mid-order.
        if (locked() === 1) return { env, first, db };
        if (run === 5) throw new Error("five orders in a row finished before the kill");
      }
    };
    const { env, first, db } = await killedMidOrder();
    const created = /"msg":"acme order created".*"order":"([^"]+)"/.exec(first.stderr())?.[1];
    expect(created).toBeDefined();

    const second = await serve(env, knobs);
    const served = async () => {
      const r = await curlHttps(second.httpsPort, "blog.example.com", env.pebble.issuerRootFile);
      return r.code === 0 ? r : null;
    };
    const res = await waitFor(served, { what: "the certificate after restart", timeoutMs: 30_000, everyMs: 200 });
    expect(res.body).toBe("<h1>blog</h1>");
    const log2 = second.stderr();
    const notResumable = `"msg":"acme order not resumable, ordering afresh","name":"blog.example.com","order":"${created}"`;
    if (log2.includes(`"msg":"acme order resumed","name":"blog.example.com","order":"${created}"`)) {
      expect(logCount(second, "acme order created", "blog.example.com")).toBe(0);
    } else if (log2.includes(notResumable)) {
      // pebble tried while fazt was down, so the CA failed that order: only then a new one.
      expect(log2).toContain(`${notResumable},"status":"invalid"`);
      expect(logCount(second, "acme order created", "blog.example.com")).toBe(1);
    } else {
      // Killed after storing the certificate, before releasing the lock: nothing is ordered again.
      expect(logCount(second, "obtaining certificate", "blog.example.com")).toBe(0);
    }
    const unlocked = () => (db.query("SELECT COUNT(*) AS n FROM locks").get() as { n: number }).n === 0;
    await waitFor(unlocked, { what: "no lock left", timeoutMs: 5_000, everyMs: 100 });
    expect(db.query("SELECT COUNT(*) AS n FROM acme_challenges").get()).toEqual({ n: 0 });
  }, 120_000);

  test("new certificates go live by a listener swap under wrk load: no failed request, only reconnects", async () => {
    const env = await ca();
    seedSite(env.db, "blog", ["blog.example.com"], "<h1>blog</h1>");
    const f = await serve(env);
    await live(f, "blog.example.com");
    const swapsBefore = f.stderr().split("tls listener swapped").length - 1;
    const connections = 8;
    const load = wrk(`https://127.0.0.1:${f.httpsPort}/`, { seconds: 4, connections, headers: { Host: "blog.example.com" } });
    const added = ["a.example.com", "b.example.com", "c.example.com"];
    const answered = () => metric(f, "fazt_http_requests_total", { host: "site", code: "2xx" });
    for (const d of added) {
      // Each change lands while the load is being answered.
      const before = await answered();
      const loadAnswered = async () => (await answered()) >= before + 100;
      await waitFor(loadAnswered, { what: `100 requests of the load answered before adding ${d}`, timeoutMs: 5000 });
      expect((await api(f, "/api/sites/blog/domains", { method: "POST", json: { domain: d } })).status).toBe(201);
      await live(f, d);
      expect((await curlHttps(f.httpsPort, d, env.pebble.issuerRootFile)).status).toBe(200);
    }
    const r = await load;
    const swaps = f.stderr().split("tls listener swapped").length - 1 - swapsBefore;
    expect(swaps).toBeGreaterThanOrEqual(2); // changes close together may share one swap
    expect(r.requests).toBeGreaterThan(100);
    expect(r.non2xx3xx).toBe(0);
    expect(r.connectErrors).toBe(0);
    expect(r.timeouts).toBe(0);
    expect(r.writeErrors).toBe(0);
    // A read "error" is an idle keep-alive connection closed by the old listener: at most one per connection per swap.
    expect(r.readErrors).toBeLessThanOrEqual(connections * swaps);
  }, 60_000);

  test("with --domain, the admin host and NAME.DOMAIN get certificates too", async () => {
    const env = await ca();
    seedSite(env.db, "blog", [], "<h1>blog</h1>");
    const f = await serve(env, { args: ["--domain", "example.test"] });
    await live(f, "blog.example.test");
    await live(f, "admin.example.test");
    const page = await curlHttps(f.httpsPort, "blog.example.test", env.pebble.issuerRootFile);
    expect(page.body).toBe("<h1>blog</h1>");
    const health = await curlHttps(f.httpsPort, "admin.example.test", env.pebble.issuerRootFile, "/api/health");
    expect(JSON.parse(health.body).ok).toBe(true);
    const plain = await fetch(`${f.url}/api/health`, { headers: { host: "admin.example.test" }, redirect: "manual" });
    expect(plain.status).toBe(308);
    // A new site gets NAME.DOMAIN at once; the site URL is https.
    const created = await fetch(`https://127.0.0.1:${f.httpsPort}/api/sites`, {
      method: "POST",
      headers: { host: "admin.example.test", authorization: `Bearer ${f.token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "shop" }),
      tls: { rejectUnauthorized: false },
    });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { url: string }).url).toBe(`https://shop.example.test:${f.httpsPort}/`);
    await live(f, "shop.example.test");
    expect((await peerCert(f.httpsPort, "shop.example.test")).subject).toContain("shop.example.test");

    // Deploy previews get no certificate (one per deploy would exhaust the CA's
    // rate limits): their URL is plain HTTP and is served there, not redirected.
    const deploys = await fetch(`https://127.0.0.1:${f.httpsPort}/api/sites/blog/deploys`, {
      headers: { host: "admin.example.test", authorization: `Bearer ${f.token}` },
      tls: { rejectUnauthorized: false },
    });
    const preview = new URL(((await deploys.json()) as { deploys: { preview_url: string }[] }).deploys[0]!.preview_url);
    expect(preview.protocol).toBe("http:");
    const viaHttp = await fetch(`${f.url}/`, { headers: { host: preview.hostname }, redirect: "manual" });
    expect(viaHttp.status).toBe(200);
    expect(await viaHttp.text()).toBe("<h1>blog</h1>");
    expect(f.stderr()).not.toContain(`"name":"${preview.hostname}"`);
  }, 60_000);

  test("two processes on one database order each name once", async () => {
    const env = await ca({ vaSleepSeconds: 3 }); // slow validations: the second process starts mid-order
    seedSite(env.db, "blog", ["blog.example.com", "www.example.com"], "<h1>blog</h1>");
    // pebble validates on the first process's HTTP port only: orders the second
    // process places are answered by the first, from the shared database. The
    // second starts as soon as the first listens, while its orders run.
    const a = await serve(env);
    const b = await serve({ ...env, httpPort: freePort() });
    for (const f of [a, b]) {
      for (const name of ["blog.example.com", "www.example.com"]) {
        // b may have loaded them at start (no swap) or picked them up later.
        const served = async () => (await peerCert(f.httpsPort, name)).issuer.includes("Pebble");
        await waitFor(served, { what: `${name} on ${f.httpsPort}`, timeoutMs: 20_000, everyMs: 100 });
      }
    }
    for (const name of ["blog.example.com", "www.example.com"]) {
      // One process works on each name; the other waits for the lock, then finds it stored.
      expect(logCount(a, "obtaining certificate", name) + logCount(b, "obtaining certificate", name)).toBe(1);
      expect(logCount(a, "acme order created", name) + logCount(b, "acme order created", name)).toBe(1);
    }
  }, 60_000);

  test("an ACME failure is recorded with its error and backed off, not retried in a loop", async () => {
    const env = await ca();
    seedSite(env.db, "blog", ["blog.example.com"], "<h1>blog</h1>");
    // Without --acme-ca-root the CA's test certificate is not trusted.
    const f = await startFazt({
      dir: env.dir,
      db: env.db,
      args: ["--http", `127.0.0.1:${env.httpPort}`, "--https", "127.0.0.1:0", "--acme-directory", env.pebble.directory],
      env: { FAZT_ACME_CHECK_MS: "50" },
    });
    stops.push(() => f.stop());
    const entry = await firstFailure(f);
    expect(entry.names).toEqual(["blog.example.com"]);
    expect(entry.state).toBe("failing");
    expect(entry.not_after).toBeNull();
    expect(entry.failures).toBe(1);
    expect(String(entry.last_error)).toMatch(/certificate|self.signed|verify/i);
    expect(Date.parse(entry.next_attempt_at as string) - Date.now()).toBeGreaterThan(50_000);
    // Five more checks, each of which would order a name that is due: still one attempt.
    await checksAfter(f, await metric(f, "fazt_acme_checks_total"), 5);
    expect(await metric(f, "fazt_acme_attempts_total")).toBe(1);
    expect(logCount(f, "obtaining certificate", "blog.example.com")).toBe(1);
    // Bad input for the flag itself: a clear start-up error, exit 1.
    const bad = await startFazt({ args: ["--https", "127.0.0.1:0", "--acme-ca-root", "/nonexistent.pem"] }).catch((e: Error) => e);
    expect(String(bad)).toContain("--acme-ca-root: cannot read /nonexistent.pem");
  }, 60_000);

  test("on demand: the first request for an owned host without a certificate orders one", async () => {
    const env = await ca();
    seedSite(env.db, "blog", ["blog.example.com"], "<h1>blog</h1>");
    // An earlier failure put the name in back-off when the server starts, and the periodic
    // check is an hour away: once the back-off is over, only a request can trigger the order.
    const store = new Database(env.db);
    stops.push(async () => store.close());
    store.run("PRAGMA busy_timeout = 5000");
    store.run(
      `INSERT INTO certificate_status (name, failures, first_failure_at, last_error, next_attempt_at, updated_at)
       VALUES ('blog.example.com', 1, ?1, 'earlier', ?2, ?1)`,
      [Date.now(), Date.now() + 3600_000],
    );
    const f = await serve(env, { env: { FAZT_ACME_CHECK_MS: "3600000" } });
    // The check at start (before the server was ready) saw the back-off.
    expect(await metric(f, "fazt_acme_checks_total")).toBe(1);
    expect(await metric(f, "fazt_acme_attempts_total")).toBe(0);
    // The back-off ends: its row says so (no waiting for the time to pass).
    store.run("UPDATE certificate_status SET next_attempt_at = ? WHERE name = 'blog.example.com'", [Date.now() - 1]);
    const plain = await fetch(`${f.url}/`, { headers: { host: "blog.example.com" }, redirect: "manual" });
    expect(plain.status).toBe(200); // no certificate yet: served over HTTP meanwhile
    await live(f, "blog.example.com");
    // No check ran since the start: the request started the one order.
    expect(await metric(f, "fazt_acme_checks_total")).toBe(1);
    expect(await metric(f, "fazt_acme_attempts_total")).toBe(1);
    expect((await curlHttps(f.httpsPort, "blog.example.com", env.pebble.issuerRootFile)).body).toBe("<h1>blog</h1>");
    const list = (await (await api(f, "/api/certificates")).json()) as { certificates: Record<string, unknown>[] };
    expect(list.certificates[0]).toMatchObject({ names: ["blog.example.com"], last_error: null, failures: 0 });
  }, 60_000);

  test("a failed HTTP-01 validation is reported with the CA's problem detail", async () => {
    const env = await ca();
    seedSite(env.db, "blog", ["blog.example.com"], "<h1>blog</h1>");
    // fazt listens elsewhere than where pebble validates: nobody answers the challenge.
    const f = await serve({ ...env, httpPort: freePort() });
    const entry = await firstFailure(f);
    expect(String(entry.last_error)).toMatch(/^validation of blog\.example\.com failed: .*\(urn:ietf:params:acme:error:connection\)$/);
    expect(entry.state).toBe("failing");
    // The failed order is not kept for resuming: the next attempt orders afresh.
    const db = new Database(env.db, { readonly: true });
    expect(db.query("SELECT COUNT(*) AS n FROM certificates WHERE key LIKE 'acme/%/orders/%'").get()).toEqual({ n: 0 });
    expect(db.query("SELECT COUNT(*) AS n FROM acme_challenges").get()).toEqual({ n: 0 });
    db.close();
  }, 60_000);

  test("after 30 days of failures a name is given up on, until its domain is added again", async () => {
    const env = await ca();
    seedSite(env.db, "blog", ["blog.example.com"], "<h1>blog</h1>");
    const db = new Database(env.db);
    const day = 86_400_000;
    db.run(
      "INSERT INTO certificate_status (name, failures, first_failure_at, last_error, next_attempt_at, updated_at) VALUES ('blog.example.com', 12, ?1, 'old', ?2, ?2)",
      [Date.now() - 31 * day, Date.now() - 1],
    );
    db.close();
    // No --acme-ca-root: every attempt fails.
    const f = await startFazt({
      dir: env.dir,
      db: env.db,
      args: ["--http", `127.0.0.1:${env.httpPort}`, "--https", "127.0.0.1:0", "--acme-directory", env.pebble.directory],
      env: { FAZT_ACME_CHECK_MS: "50" },
    });
    stops.push(() => f.stop());
    const state = async () => {
      const list = (await (await api(f, "/api/certificates")).json()) as { certificates: Record<string, unknown>[] };
      return list.certificates[0]!;
    };
    await waitFor(async () => (await state()).state === "gave_up", { what: "given up", timeoutMs: 20_000, everyMs: 100 });
    expect(f.stderr()).toContain("giving up after 30 days of failures");
    expect((await state()).next_attempt_at).toBeNull();
    // Three more checks: a name given up on is not attempted again.
    await checksAfter(f, await metric(f, "fazt_acme_checks_total"), 3);
    expect(await metric(f, "fazt_acme_attempts_total")).toBe(1);
    expect(logCount(f, "obtaining certificate", "blog.example.com")).toBe(1);
    // Removing and adding the domain again starts afresh.
    expect((await api(f, "/api/sites/blog/domains/blog.example.com", { method: "DELETE" })).status).toBe(200);
    expect((await api(f, "/api/sites/blog/domains", { method: "POST", json: { domain: "blog.example.com" } })).status).toBe(201);
    await waitFor(() => logCount(f, "obtaining certificate", "blog.example.com") === 2, { what: "a new attempt", timeoutMs: 20_000 });
    await waitFor(async () => (await state()).failures === 1, { what: "a fresh failure streak", timeoutMs: 20_000, everyMs: 100 });
    expect((await state()).state).toBe("failing");
  }, 60_000);

  test("a damaged certificate in the database does not stop the server: it is replaced", async () => {
    const env = await ca();
    seedSite(env.db, "blog", ["blog.example.com"], "<h1>blog</h1>");
    // A stored certificate whose key does not match it (Bun.serve would refuse the pair).
    const gen = (name: string) =>
      selfSigned({ cert: `${env.dir}/${name}.crt`, key: `${env.dir}/${name}.key`, cn: "blog.example.com", days: 30 });
    gen("one");
    gen("two");
    const db = new Database(env.db);
    const put = db.prepare("INSERT INTO certificates (key, value, updated_at) VALUES (?, ?, ?)");
    const base = "certificates/old-ca/blog.example.com/blog.example.com";
    put.run(`${base}.crt`, await Bun.file(`${env.dir}/one.crt`).bytes(), Date.now());
    put.run(`${base}.key`, await Bun.file(`${env.dir}/two.key`).bytes(), Date.now());
    db.close();
    for (const n of ["one", "two"]) for (const ext of ["crt", "key"]) Bun.spawnSync(["rm", `${env.dir}/${n}.${ext}`]);

    const f = await serve(env);
    expect(f.stderr()).toContain("unreadable stored certificate");
    await live(f, "blog.example.com");
    expect((await curlHttps(f.httpsPort, "blog.example.com", env.pebble.issuerRootFile)).body).toBe("<h1>blog</h1>");
  }, 60_000);
});
