// The SMTP listener against swaks (a real SMTP client): mail for an owned
// domain lands with its attachment byte for byte, other domains are refused at
// RCPT, an oversized message is refused, and STARTTLS presents the
// certificate stored in the database for the name the client asks for.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as x509 from "@peculiar/x509";
import { Store } from "../src/db/index.ts";
import { CertStorage } from "../src/tls/storage.ts";
import { api, cleanup, startFazt, type FaztProcess } from "./helpers/fazt.ts";

const MAX_BYTES = 200_000;
let f: FaztProcess;
let smtpPort: number;

async function swaks(args: string[]): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(["swaks", "--server", `127.0.0.1:${smtpPort}`, "--helo", "test.example", "--timeout", "10", ...args], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, out: out + err };
}

async function inbox(): Promise<{ id: string; subject: string }[]> {
  return ((await (await api(f, "/api/mail/inbox")).json()) as { messages: { id: string; subject: string }[] }).messages;
}

/** A self-signed certificate for one name, made here (not by fazt). */
async function selfSigned(name: string): Promise<{ cert: string; key: string }> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "0a1b2c",
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    signingAlgorithm: alg,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: name }])],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { cert: cert.toString("pem"), key: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
}

beforeAll(async () => {
  f = await startFazt({ args: ["--smtp", "127.0.0.1:0", "--smtp-max-bytes", String(MAX_BYTES)] });
  smtpPort = Number(/"smtp_port":(\d+)/.exec(f.stderr())![1]);
  expect((await api(f, "/api/sites", { method: "POST", json: { name: "shop", domains: ["shop.example.com"] } })).status).toBe(201);
});

afterAll(async () => {
  await f.stop();
  cleanup(f.dir);
});

test("mail to an owned domain lands in the inbox with its attachment intact", async () => {
  const file = join(f.dir, "data.bin");
  const bytes = crypto.getRandomValues(new Uint8Array(60_000));
  writeFileSync(file, bytes);
  const r = await swaks([
    "--to",
    "orders@shop.example.com",
    "--from",
    "alice@sender.example",
    "--header",
    "Subject: invoice 42",
    "--body",
    "see attached",
    "--attach-type",
    "application/octet-stream",
    "--attach-name",
    "data.bin",
    "--attach",
    `@${file}`,
  ]);
  expect(r.code).toBe(0);
  const m = (await inbox()).find((x) => x.subject === "invoice 42");
  expect(m).toBeDefined();
  const full = (await (await api(f, `/api/mail/inbox/${m!.id}`)).json()) as Record<string, any>;
  expect(full.source).toBe("smtp");
  expect(full.to).toEqual(["orders@shop.example.com"]);
  expect(full.text).toContain("see attached");
  expect(full.attachments).toHaveLength(1);
  expect(full.attachments[0].filename).toBe("data.bin");
  const got = Buffer.from(await (await api(f, full.attachments[0].url)).arrayBuffer());
  expect(got.equals(Buffer.from(bytes))).toBe(true);
});

test("any other domain is refused at RCPT with 550, and nothing is stored", async () => {
  const before = (await inbox()).length;
  for (const to of ["a@elsewhere.example", "a@example.com", "a@shop.example.com.evil.example", "a@sub.shop.example.com", "a@[127.0.0.1]"]) {
    const r = await swaks(["--to", to, "--from", "x@y.example", "--header", "Subject: relay"]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/<\*\* +5\d\d /);
  }
  const relay = await swaks(["--to", "a@elsewhere.example", "--from", "x@y.example"]);
  expect(relay.out).toContain("550");
  expect((await inbox()).length).toBe(before);
});

test("an oversized message is refused (552) and not stored", async () => {
  const before = (await inbox()).length;
  const body = join(f.dir, "big.txt");
  writeFileSync(body, "0123456789abcdef\r\n".repeat(Math.ceil(MAX_BYTES / 18) + 100));
  const r = await swaks(["--to", "orders@shop.example.com", "--from", "x@y.example", "--body", `@${body}`]);
  expect(r.code).not.toBe(0);
  expect(r.out).toContain("552");
  expect((await inbox()).length).toBe(before);
});

test("STARTTLS presents the certificate stored in the database for the SNI name", async () => {
  const pair = await selfSigned("shop.example.com");
  const store = Store.open(f.db);
  new CertStorage(store).storeCertificate("test-ca", "shop.example.com", pair, new Date(Date.now() + 86_400_000));
  store.close();
  const peer = join(f.dir, "peer.pem");
  const r = await swaks([
    "--to",
    "orders@shop.example.com",
    "--from",
    "x@y.example",
    "--header",
    "Subject: over tls",
    "--tls",
    "--tls-sni",
    "shop.example.com",
    "--tls-get-peer-cert",
    peer,
  ]);
  expect(r.code).toBe(0);
  expect(r.out).toContain("STARTTLS");
  const served = new x509.X509Certificate(readFileSync(peer, "utf8"));
  expect(served.toString("pem")).toBe(new x509.X509Certificate(pair.cert).toString("pem"));
  expect((await inbox()).some((x) => x.subject === "over tls")).toBe(true);
  // Without a stored certificate for the name: the default one, and mail still flows.
  const other = await swaks([
    "--to",
    "orders@shop.example.com",
    "--from",
    "x@y.example",
    "--tls",
    "--tls-sni",
    "unknown.example",
    "--tls-get-peer-cert",
    peer,
  ]);
  expect(other.code).toBe(0);
  expect(readFileSync(peer, "utf8")).not.toContain(pair.cert.split("\n")[1]!);
});
