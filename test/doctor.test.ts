// fazt doctor against real files, a real server, a real small filesystem and a
// certificate stored through the tls storage.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, openSync, writeSync, closeSync } from "node:fs";
import { join } from "node:path";
import { networkInterfaces } from "node:os";
import dnsPacket from "dns-packet";
import { Database } from "bun:sqlite";
import * as x509 from "@peculiar/x509";
import { cleanup, runFazt, startFazt, tempDir } from "./helpers/fazt.ts";
import { Store } from "../src/db/index.ts";
import { CertStorage, certificateKeyPrefix } from "../src/tls/storage.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanup));

function dir(): string {
  const d = tempDir("fazt-doctor-");
  dirs.push(d);
  return d;
}

/** A Fazt database made by another process (fazt creates it and its -wal/-shm 0600). */
async function privateDb(folder: string): Promise<string> {
  const db = join(folder, "fazt.db");
  expect((await runFazt(["token", "create", "--db", db])).code).toBe(0);
  return db;
}

/** The lines of one check: "STATUS check detail". */
const lines = (stdout: string, check: string) => stdout.split("\n").filter((l) => l.split(/\s+/)[1] === check);

async function freePort(): Promise<number> {
  const l = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = l.port;
  l.stop(true);
  return port;
}

test("a healthy server: every check ok, both ports held by Fazt, exit 0", async () => {
  const d = dir();
  const f = await startFazt({ dir: d, args: ["--https", "127.0.0.1:0"] });
  try {
    const httpsPort = Number(/"https_port":(\d+)/.exec(f.stderr())?.[1]);
    const r = await runFazt(["doctor", "--db", f.db, "--http", `127.0.0.1:${f.port}`, "--https", `127.0.0.1:${httpsPort}`]);
    expect(r.stdout).toContain(`ok   port http    127.0.0.1:${f.port} is held by Fazt`);
    expect(r.stdout).toContain(`ok   port https   127.0.0.1:${httpsPort} is held by Fazt`);
    expect(lines(r.stdout, "integrity")[0]).toStartWith("ok");
    expect(lines(r.stdout, "mode")).toHaveLength(3);
    expect(r.stdout).not.toContain("FAIL");
    expect(r.code).toBe(0);
  } finally {
    await f.stop();
  }
});

test("a port held by another program FAILs; a free one is ok", async () => {
  const other = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("not fazt") });
  try {
    const db = await privateDb(dir());
    const held = await runFazt(["doctor", "--db", db, "--http", `127.0.0.1:${other.port}`]);
    expect(held.stdout).toContain(`FAIL port http    127.0.0.1:${other.port} is held by another program`);
    expect(held.code).toBe(1);
    const port = await freePort();
    const free = await runFazt(["doctor", "--db", db, "--http", `127.0.0.1:${port}`]);
    expect(free.stdout).toContain(`ok   port http    127.0.0.1:${port} is free`);
    expect(free.code).toBe(0);
  } finally {
    other.stop(true);
  }
});

test("a database readable by others FAILs with the file named", async () => {
  const db = await privateDb(dir());
  const port = String(await freePort());
  expect((await runFazt(["doctor", "--db", db, "--http", `127.0.0.1:${port}`])).code).toBe(0);
  chmodSync(db, 0o644);
  const r = await runFazt(["doctor", "--db", db, "--http", `127.0.0.1:${port}`]);
  expect(r.stdout).toContain(`FAIL mode         ${db} 0644: others can access it`);
  expect(r.code).toBe(1);
});

test("a missing database FAILs without creating one", async () => {
  const d = dir();
  const r = await runFazt(["doctor", "--db", join(d, "none.db"), "--http", "127.0.0.1:0"]);
  expect(r.stdout).toContain("does not exist");
  expect(r.code).toBe(1);
  expect(await Bun.file(join(d, "none.db")).exists()).toBe(false);
});

async function selfSigned(name: string, notBefore: Date, notAfter: Date): Promise<string> {
  const alg = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
  const keys = await crypto.subtle.generateKey(alg, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: `CN=${name}`,
    notBefore,
    notAfter,
    signingAlgorithm: alg,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: name }])],
  });
  return cert.toString("pem");
}

test("an expired certificate FAILs, a valid one is ok", async () => {
  const db = await privateDb(dir());
  const store = Store.open(db);
  const day = 86_400_000;
  const now = Date.now();
  try {
    // Certificates without their keys: the listing reads the certificate alone.
    new CertStorage(store).storeAll({
      [`${certificateKeyPrefix("acme-test", "old.example.com")}.crt`]: await selfSigned(
        "old.example.com",
        new Date(now - 100 * day),
        new Date(now - day),
      ),
      [`${certificateKeyPrefix("acme-test", "new.example.com")}.crt`]: await selfSigned(
        "new.example.com",
        new Date(now - day),
        new Date(now + 80 * day),
      ),
    });
  } finally {
    store.close();
  }
  const r = await runFazt(["doctor", "--db", db, "--http", `127.0.0.1:${await freePort()}`]);
  expect(lines(r.stdout, "certificate")).toEqual([expect.stringMatching(/^FAIL certificate +old\.example\.com expired on \d{4}-/)]);
  expect(r.stdout).not.toContain("new.example.com");
  expect(r.code).toBe(1);
});

describe("a full disk", () => {
  test("a small filesystem filled up FAILs the disk check", async () => {
    const mnt = join(dir(), "small");
    mkdirSync(mnt);
    const mount = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=80m,mode=0700", "tmpfs", mnt], { stderr: "pipe" });
    if (mount.exitCode !== 0) throw new Error(`mount tmpfs failed (the test needs root): ${mount.stderr}`);
    try {
      const db = await privateDb(mnt);
      const port = String(await freePort());
      const roomy = await runFazt(["doctor", "--db", db, "--http", `127.0.0.1:${port}`]);
      // 80 MiB is above the 64 MiB floor: fine until it fills up.
      expect(lines(roomy.stdout, "disk")[0]).toMatch(/^ok {3}disk +[0-9.]+ MiB free of 80 MiB/);
      expect(roomy.code).toBe(0);
      const fd = openSync(join(mnt, "filler"), "w");
      try {
        const chunk = new Uint8Array(1024 * 1024);
        for (;;) writeSync(fd, chunk);
      } catch (err) {
        expect((err as { code?: string }).code).toBe("ENOSPC");
      } finally {
        closeSync(fd);
      }
      const full = await runFazt(["doctor", "--db", db, "--http", `127.0.0.1:${port}`]);
      expect(lines(full.stdout, "disk")[0]).toMatch(/^FAIL disk +[0-9.]+ (B|KiB) free of 80 MiB .*deploys stop, writes may fail/);
      expect(lines(full.stdout, "integrity")[0]).toStartWith("ok");
      expect(full.code).toBe(1);
    } finally {
      unmount(mnt);
    }
  });
});

describe("DNS", () => {
  // A real DNS server on loopback (UDP) with the zone below; other names are NXDOMAIN.
  const mine = Object.values(networkInterfaces())
    .flat()
    .find((i) => i && !i.internal && i.family === "IPv4")?.address;
  const zone: Record<string, { A?: string[]; AAAA?: string[] }> = {
    "example.test": { A: [mine ?? "192.0.2.1"] },
    "admin.example.test": { A: ["198.51.100.7"] },
  };
  let server: Bun.udp.Socket<"buffer">;
  beforeAll(async () => {
    server = await Bun.udpSocket({
      hostname: "127.0.0.1",
      socket: {
        data(sock, buf, port, addr) {
          const q = dnsPacket.decode(Buffer.from(buf));
          const question = q.questions![0]!;
          const records = zone[question.name.toLowerCase()];
          const answers = (records?.[question.type as "A" | "AAAA"] ?? []).map((data) => ({
            type: question.type,
            name: question.name,
            ttl: 60,
            data,
          }));
          const answer = dnsPacket.encode({
            type: "response",
            id: q.id,
            flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE | (records ? 0 : 3), // rcode 3: NXDOMAIN
            questions: q.questions,
            answers,
          } as dnsPacket.Packet);
          sock.send(answer, port, addr);
        },
      },
    });
  });
  afterAll(() => server.close());

  test("each name: ok on this machine, warn elsewhere, FAIL without a record", async () => {
    if (!mine) throw new Error("no non-loopback IPv4 address on this machine");
    const db = await privateDb(dir());
    const r = await runFazt([
      "doctor",
      "--db",
      db,
      "--http",
      `127.0.0.1:${await freePort()}`,
      "--https",
      "off",
      "--domain",
      "example.test",
      "--dns-server",
      `127.0.0.1:${server.port}`,
    ]);
    expect(lines(r.stdout, "dns")).toEqual([
      `ok   dns          example.test resolves to this machine (${mine})`,
      "warn dns          admin.example.test resolves to 198.51.100.7, not an address of this machine (fine behind NAT)",
      "FAIL dns          *.example.test has no A or AAAA record",
    ]);
    expect(r.code).toBe(1);
  });

  test("no DNS server answering: the check says it is skipped, and does not fail", async () => {
    const db = await privateDb(dir());
    const closed = await Bun.udpSocket({ hostname: "127.0.0.1" });
    const port = closed.port;
    closed.close();
    const r = await runFazt([
      "doctor",
      "--db",
      db,
      "--http",
      `127.0.0.1:${await freePort()}`,
      "--https",
      "off",
      "--domain",
      "example.test",
      "--dns-server",
      `127.0.0.1:${port}`,
    ]);
    expect(lines(r.stdout, "dns")).toEqual(["warn dns          skipped: no DNS server answered (offline?)"]);
    expect(r.code).toBe(0);
  });

  test("a bad --dns-server is a usage error", async () => {
    const r = await runFazt(["doctor", "--domain", "example.test", "--dns-server", "dns.example"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--dns-server");
  });
});

test("a database written by a newer fazt, or another application's SQLite file, FAILs", async () => {
  const db = await privateDb(dir());
  const raw = new Database(db);
  raw.run("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, '9999_future.sql', 0)");
  raw.close();
  const port = String(await freePort());
  const newer = await runFazt(["doctor", "--db", db, "--http", `127.0.0.1:${port}`]);
  expect(lines(newer.stdout, "database")).toEqual([
    expect.stringMatching(/^FAIL database +database has migration 9999_future\.sql, newer than/),
  ]);
  expect(newer.code).toBe(1);
  const foreign = join(dir(), "other.db");
  const other = new Database(foreign);
  other.run("CREATE TABLE notes (body TEXT)");
  other.close();
  chmodSync(foreign, 0o600);
  const r = await runFazt(["doctor", "--db", foreign, "--http", `127.0.0.1:${port}`]);
  expect(lines(r.stdout, "database")).toEqual([`FAIL database     ${foreign} is not a Fazt database (another application's)`]);
  expect(r.code).toBe(1);
});

/** Unmount a test filesystem; a failure is reported, not swallowed. */
function unmount(mnt: string): void {
  const umount = Bun.spawnSync(["umount", mnt], { stderr: "pipe" });
  if (umount.exitCode !== 0) console.error(`umount ${mnt} failed: ${umount.stderr}`);
  expect(umount.exitCode).toBe(0);
}
