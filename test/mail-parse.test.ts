// Received messages are parsed in a worker thread (mail/parse.ts), and a large
// one is stored a chunk at a time: checked on the parser alone, and with swaks
// against a server whose size limit lets a 3 MiB attachment through.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { MailParser } from "../src/mail/parse.ts";
import { api, cleanup, startFazt, type FaztProcess } from "./helpers/fazt.ts";
import { metric } from "./helpers/metrics.ts";

const RAW = [
  "From: Alice <alice@sender.example>",
  "To: orders@shop.example.com",
  "Subject: =?UTF-8?Q?caf=C3=A9?=",
  "Message-ID: <m1@sender.example>",
  "MIME-Version: 1.0",
  'Content-Type: multipart/mixed; boundary="b"',
  "",
  "--b",
  "Content-Type: text/plain; charset=utf-8",
  "",
  "hello",
  "--b",
  'Content-Type: application/octet-stream; name="x.bin"',
  "Content-Transfer-Encoding: base64",
  'Content-Disposition: attachment; filename="x.bin"',
  "",
  Buffer.from([0, 1, 2, 250, 251, 252]).toString("base64"),
  "--b--",
  "",
].join("\r\n");

describe("the parser's worker thread", () => {
  test("answers the fields fazt keeps, attachments as their exact bytes", async () => {
    const p = new MailParser();
    try {
      const m = await p.parse(new TextEncoder().encode(RAW));
      expect([m.from, m.subject, m.messageId, m.text?.trim()]).toEqual([
        '"Alice" <alice@sender.example>',
        "café",
        "<m1@sender.example>",
        "hello",
      ]);
      expect(m.headerLines.map((h) => h.key)).toContain("subject");
      expect(m.attachments).toHaveLength(1);
      expect([m.attachments[0]!.filename, m.attachments[0]!.contentType]).toEqual(["x.bin", "application/octet-stream"]);
      expect([...m.attachments[0]!.content]).toEqual([0, 1, 2, 250, 251, 252]);
    } finally {
      p.stop();
    }
  });

  test("a worker that cannot start fails the message (SMTP answers 451 and the sender retries), and the next call tries again", async () => {
    const p = new MailParser("/nonexistent/parse-worker.ts");
    try {
      await expect(p.parse(new TextEncoder().encode(RAW))).rejects.toThrow(/mail parser/);
      await expect(p.parse(new TextEncoder().encode(RAW))).rejects.toThrow(/mail parser/);
    } finally {
      p.stop();
    }
  });
});

describe("a 3 MiB attachment over SMTP", () => {
  let f: FaztProcess;
  let smtpPort: number;
  beforeAll(async () => {
    f = await startFazt({ args: ["--smtp", "127.0.0.1:0"] });
    smtpPort = Number(/"smtp_port":(\d+)/.exec(f.stderr())![1]);
    expect((await api(f, "/api/sites", { method: "POST", json: { name: "shop", domains: ["shop.example.com"] } })).status).toBe(201);
  });
  afterAll(async () => {
    await f.stop();
    cleanup(f.dir);
  });

  test("lands byte-identical, staged a chunk at a time: no upload left, the event loop never held 50 ms", async () => {
    const file = join(f.dir, "big.bin");
    const bytes = Buffer.concat(Array.from({ length: 48 }, () => crypto.getRandomValues(new Uint8Array(65536))));
    writeFileSync(file, bytes);
    await metric(f, "fazt_event_loop_busy_max_seconds"); // resets the gauge
    const swaks = Bun.spawn(
      ["swaks", "--server", `127.0.0.1:${smtpPort}`, "--to", "orders@shop.example.com", "--from", "a@sender.example"]
        .concat(["--header", "Subject: big one", "--attach-type", "application/octet-stream", "--attach-name", "big.bin"])
        .concat(["--attach", `@${file}`]),
      { stdout: "pipe", stderr: "pipe" },
    );
    expect(await swaks.exited).toBe(0);
    const heldMs = (await metric(f, "fazt_event_loop_busy_max_seconds")) * 1000;
    console.log(`3 MiB attachment over SMTP: longest event-loop hold ${heldMs.toFixed(1)} ms`);
    expect(heldMs).toBeLessThan(50);
    const list = (await (await api(f, "/api/mail/inbox")).json()) as { messages: { id: string; subject: string }[] };
    const id = list.messages.find((m) => m.subject === "big one")!.id;
    const full = (await (await api(f, `/api/mail/inbox/${id}`)).json()) as { attachments: { url: string }[] };
    const got = Buffer.from(await (await api(f, full.attachments[0]!.url)).arrayBuffer());
    expect(got.equals(bytes)).toBe(true);
    const db = new Database(f.db, { readonly: true });
    try {
      expect(db.query("SELECT COUNT(*) AS n FROM uploads").get()).toEqual({ n: 0 });
      expect(db.query("SELECT COUNT(*) AS n FROM blobs WHERE hash LIKE 'staged:%'").get()).toEqual({ n: 0 });
    } finally {
      db.close();
    }
  }, 30_000);
});
