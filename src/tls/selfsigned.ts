// The TLS listener's default certificate, for handshakes that name no host
// we have a certificate for (or none at all). Self-signed, made once, kept
// in the database like every other key.
import * as x509 from "@peculiar/x509";
import type { CertStorage, PemPair } from "./storage.ts";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

async function createSelfSigned(): Promise<PemPair> {
  const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(crypto.getRandomValues(new Uint8Array(8)))
      .toString("hex")
      .replace(/^[89a-f]/, "1"),
    name: "CN=fazt default certificate",
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 10 * 365 * 86_400_000),
    signingAlgorithm: ALG,
    keys,
    extensions: [new x509.BasicConstraintsExtension(false, undefined, true)],
  });
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { cert: cert.toString("pem"), key: x509.PemConverter.encode(pkcs8, "PRIVATE KEY") };
}

export async function defaultCertificate(storage: CertStorage): Promise<PemPair> {
  const stored = storage.defaultCertificate();
  if (stored) return stored;
  const made = await createSelfSigned();
  storage.storeDefaultCertificate(made);
  return made;
}
