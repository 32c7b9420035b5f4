// Mail end to end against a real fazt and the Resend stand-in: queueing and
// its checks, delivery with retries under one idempotency key, the signed
// webhook and the background body fetch, the inbox API, GC and metrics.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Webhook } from "standardwebhooks";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { api, cleanup, runFazt, startFazt, type FaztProcess } from "./helpers/fazt.ts";
import { ResendStandIn } from "./helpers/resend.ts";
import { waitFor } from "./helpers/wait.ts";

const SECRET = `whsec_${Buffer.from("fazt-test-webhook-secret-32bytes!").toString("base64")}`;
const MAX_FAILURES = 3;

let resend: ResendStandIn;
let f: FaztProcess;
let shopToken: string;

async function json<T = Record<string, unknown>>(res: Response | Promise<Response>): Promise<T> {
  return (await (await res).json()) as T;
}

function mail(subject: string, extra: Record<string, unknown> = {}) {
  return { from: "Shop <hello@shop.example.com>", to: ["someone@elsewhere.example"], subject, text: "hi", ...extra };
}

async function queue(body: unknown, token?: string): Promise<string> {
  const res = await api(f, "/api/mail", { method: "POST", json: body, token });
  expect(res.status).toBe(202);
  return (await json<{ id: string }>(res)).id;
}

/** Wait until the message has a final status. */
function settled(id: string): Promise<Record<string, any>> {
  let m = {} as Awaited<ReturnType<typeof settled>>;
  const final = async () => {
    m = await json<typeof m>(api(f, `/api/mail/outbox/${id}`));
    return m.status === "sent" || m.status === "failed" ? m : null;
  };
  return waitFor(final, { what: () => `message ${id} sent or failed (it is ${JSON.stringify(m)})`, timeoutMs: 15_000, everyMs: 25 });
}

beforeAll(async () => {
  resend = new ResendStandIn().start();
  f = await startFazt({
    args: ["--mail-webhook-secret", SECRET, "--mail-allow-from", "partner.example", "--mail-rate", "600"],
    env: {
      ...resend.env(),
      FAZT_MAIL_RETRY_BASE_MS: "50",
      FAZT_MAIL_MAX_FAILURES: String(MAX_FAILURES),
      FAZT_MAIL_TIMEOUT_MS: "400",
      FAZT_MAIL_LEASE_MS: "1000",
      FAZT_MAIL_POLL_MS: "50",
    },
  });
  for (const [name, domains] of [
    ["shop", ["shop.example.com"]],
    ["blog", ["blog.example.org"]],
  ] as const) {
    expect((await api(f, "/api/sites", { method: "POST", json: { name, domains } })).status).toBe(201);
  }
  shopToken = (await json<{ token: string }>(api(f, "/api/sites/shop/tokens", { method: "POST" }))).token;
});

afterAll(async () => {
  await f.stop();
  await resend.stop();
  cleanup(f.dir);
});

describe("queueing", () => {
  test("a sender must be on a domain a site owns or on the allow-list; a site token only its own", async () => {
    const refused = await api(f, "/api/mail", { method: "POST", json: mail("x", { from: "a@nobody.example" }) });
    expect(refused.status).toBe(403);
    expect((await json<{ error: { code: string } }>(refused)).error.code).toBe("sender_not_allowed");
    const other = await api(f, "/api/mail", { method: "POST", json: mail("x", { from: "a@blog.example.org" }), token: shopToken });
    expect(other.status).toBe(403);
    const allowed = await queue(mail("allow-listed", { from: "a@partner.example" }));
    const own = await queue(mail("own site"), shopToken);
    expect((await settled(allowed)).status).toBe("sent");
    expect((await settled(own)).status).toBe("sent");
    // The site token sees its own message, not the allow-listed one (no site), which answers as unknown.
    expect((await api(f, `/api/mail/outbox/${own}`, { token: shopToken })).status).toBe(200);
    expect((await api(f, `/api/mail/outbox/${allowed}`, { token: shopToken })).status).toBe(404);
    const list = await json<{ messages: { id: string }[] }>(api(f, "/api/mail/outbox", { token: shopToken }));
    expect(list.messages.map((m) => m.id)).toContain(own);
    expect(list.messages.map((m) => m.id)).not.toContain(allowed);
  });

  test("bad input is a 400 naming the field, over-large input a 413, and nothing is queued", async () => {
    const before = (await json<{ messages: unknown[] }>(api(f, "/api/mail/outbox?limit=200"))).messages.length;
    const cases: [unknown, number][] = [
      [mail("x", { to: [] }), 400],
      [mail("x", { to: Array.from({ length: 51 }, (_, i) => `r${i}@x.example`) }), 400],
      [mail("x", { to: ["not an address"] }), 400],
      [mail("x", { from: "a@shop.example.com\r\nBcc: victim@x.example" }), 400],
      [mail("line\r\nInjected: yes"), 400],
      [mail("x", { text: undefined }), 400],
      [mail("x", { headers: { "Bad Name": "v" } }), 400],
      [mail("x", { attachments: [{ filename: "a.bin", content: "not base64!" }] }), 400],
      [mail("x", { attachments: Array.from({ length: 11 }, (_, i) => ({ filename: `${i}`, content: "AA==" })) }), 400],
      [mail("x", { attachments: [{ filename: "big.bin", content: Buffer.alloc(7 * 1024 * 1024 + 10).toString("base64") }] }), 413],
      [mail("x", { text: "x".repeat(1024 * 1024 + 1) }), 400],
    ];
    for (const [body, status] of cases) {
      const res = await api(f, "/api/mail", { method: "POST", json: body });
      expect({ status: res.status, body: JSON.stringify(body).slice(0, 80) }).toEqual({ status, body: JSON.stringify(body).slice(0, 80) });
      expect(((await res.json()) as { error: { message: string } }).error.message.length).toBeGreaterThan(0);
    }
    const huge = await api(f, "/api/mail", {
      method: "POST",
      body: "x".repeat(13 * 1024 * 1024),
      headers: { "content-type": "application/json" },
    });
    expect(huge.status).toBe(413);
    expect((await json<{ messages: unknown[] }>(api(f, "/api/mail/outbox?limit=200"))).messages.length).toBe(before);
  });
});

describe("delivery", () => {
  test("a provider failure on the first attempt: one delivery, both attempts with the same idempotency key", async () => {
    resend.script = ["fail"];
    const id = await queue(mail("fail-once"));
    const m = await settled(id);
    expect(m.status).toBe("sent");
    const reqs = resend.requests.filter((r) => r.subject === "fail-once");
    expect(reqs.map((r) => r.behaviour)).toEqual(["fail", "ok"]);
    expect(reqs[0]!.key).toBeTruthy();
    expect(reqs[1]!.key).toBe(reqs[0]!.key);
    expect(resend.deliveries.filter((d) => d.subject === "fail-once")).toHaveLength(1);
    expect(m.provider_id).toBe(resend.deliveries.find((d) => d.subject === "fail-once")!.id);
    expect(m.attempt_log.map((a: { outcome: string; status_code: number }) => [a.outcome, a.status_code])).toEqual([
      ["retry", 500],
      ["sent", 200],
    ]);
  });

  test("an answer lost after the provider accepted: the retry reuses the key and nothing is delivered twice", async () => {
    resend.script = ["drop"];
    const id = await queue(mail("dropped-answer"));
    const m = await settled(id);
    expect(m.status).toBe("sent");
    const reqs = resend.requests.filter((r) => r.subject === "dropped-answer");
    expect(reqs.length).toBe(2);
    expect(new Set(reqs.map((r) => r.key)).size).toBe(1);
    expect(resend.deliveries.filter((d) => d.subject === "dropped-answer")).toHaveLength(1);
    expect(m.attempt_log[0].outcome).toBe("retry");
    expect(m.attempt_log[0].status_code).toBeNull();
  });

  test("429 waits for Retry-After before the next attempt", async () => {
    resend.script = ["ratelimit"];
    resend.retryAfter = 1;
    const id = await queue(mail("rate-limited"));
    expect((await settled(id)).status).toBe("sent");
    const [first, second] = resend.requests.filter((r) => r.subject === "rate-limited");
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(990);
    expect(second!.key).toBe(first!.key);
  });

  test("a 4xx fails at once with the reason; retry queues it again with the same key", async () => {
    resend.script = ["reject"];
    const id = await queue(mail("rejected"));
    const failed = await settled(id);
    expect(failed.status).toBe("failed");
    expect(failed.last_error).toContain("stand-in rejects this message");
    expect(resend.requests.filter((r) => r.subject === "rejected")).toHaveLength(1);
    // The failure is among the System screen's recent errors.
    const system = await json<{ recent_errors: { level: string; msg: string; detail: string }[] }>(api(f, "/api/system"));
    const logged = system.recent_errors.find((r) => r.detail?.includes(id));
    expect(logged).toMatchObject({ level: "warn", msg: "mail: a message failed" });
    expect(logged!.detail).toContain("stand-in rejects this message");
    expect((await api(f, `/api/mail/outbox/${id}/retry`, { method: "POST" })).status).toBe(200);
    const sent = await settled(id);
    expect(sent.status).toBe("sent");
    const keys = resend.requests.filter((r) => r.subject === "rejected").map((r) => r.key);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
    expect((await api(f, `/api/mail/outbox/${id}/retry`, { method: "POST" })).status).toBe(409);
  });

  test("5xx every time: failed after the failure limit, with the last reason", async () => {
    resend.script = Array(MAX_FAILURES).fill("fail");
    const id = await queue(mail("always-failing"));
    const m = await settled(id);
    expect(m.status).toBe("failed");
    expect(m.attempts).toBe(MAX_FAILURES);
    expect(m.last_error).toContain(`gave up after ${MAX_FAILURES} failures`);
    const times = resend.requests.filter((r) => r.subject === "always-failing").map((r) => r.at);
    expect(times).toHaveLength(MAX_FAILURES);
    const failedList = await json<{ messages: { id: string }[] }>(api(f, "/api/mail/outbox?status=failed"));
    expect(failedList.messages.map((x) => x.id)).toContain(id);
    expect((await api(f, "/api/mail/outbox?status=bogus")).status).toBe(400);
  });

  test("attachments reach the provider as sent", async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(3000));
    const id = await queue(
      mail("with-attachment", { html: "<p>hi</p>", attachments: [{ filename: "r.bin", content: Buffer.from(bytes).toString("base64") }] }),
    );
    expect((await settled(id)).status).toBe("sent");
    const body = resend.deliveries.find((d) => d.subject === "with-attachment")!.body as {
      attachments: { content: string; filename: string }[];
    };
    expect(body.attachments[0]!.filename).toBe("r.bin");
    expect(Buffer.from(body.attachments[0]!.content, "base64").equals(Buffer.from(bytes))).toBe(true);
  });
});

function signed(body: string, opts: { id?: string; at?: number; secret?: string } = {}): Record<string, string> {
  const id = opts.id ?? `msg_${crypto.randomUUID()}`;
  const at = new Date(opts.at ?? Date.now());
  const signature = new Webhook(opts.secret ?? SECRET).sign(id, at, body);
  return {
    "svix-id": id,
    "svix-timestamp": String(Math.floor(at.getTime() / 1000)),
    "svix-signature": signature,
    "content-type": "application/json",
  };
}

function receivedEvent(emailId: string): string {
  return JSON.stringify({
    type: "email.received",
    created_at: new Date().toISOString(),
    data: {
      email_id: emailId,
      created_at: new Date().toISOString(),
      from: "Alice <alice@sender.example>",
      to: ["orders@shop.example.com"],
      bcc: [],
      cc: [],
      received_for: ["orders@shop.example.com"],
      message_id: `<${emailId}@sender.example>`,
      subject: `hello ${emailId}`,
      attachments: [{ id: "att_0", filename: "photo.png", content_type: "image/png", content_disposition: "attachment", content_id: null }],
    },
  });
}

const inboxIds = async () => (await json<{ messages: { id: string }[] }>(api(f, "/api/mail/inbox?limit=200"))).messages.map((m) => m.id);

describe("inbound webhook", () => {
  test("unsigned, wrongly signed, stale, malformed and replayed deliveries are 401 and store nothing", async () => {
    const before = await inboxIds();
    const body = receivedEvent("em_refused");
    const post = (headers: Record<string, string>, b = body) => fetch(`${f.url}/api/hooks/email`, { method: "POST", headers, body: b });
    expect((await post({ "content-type": "application/json" })).status).toBe(401);
    expect((await post(signed(body, { secret: `whsec_${Buffer.from("another secret").toString("base64")}` }))).status).toBe(401);
    expect((await post(signed(body), receivedEvent("em_tampered"))).status).toBe(401);
    expect((await post(signed(body, { at: Date.now() - 6 * 60_000 }))).status).toBe(401);
    expect((await post(signed(body, { at: Date.now() + 6 * 60_000 }))).status).toBe(401);
    expect((await post({ ...signed(body), "svix-signature": "v2,abc" })).status).toBe(401);
    expect((await post({ ...signed(body), "svix-timestamp": "soon" })).status).toBe(401);
    const big = JSON.stringify({ type: "email.received", data: { email_id: "x", pad: "y".repeat(300 * 1024) } });
    expect((await post(signed(big), big)).status).toBe(413);
    expect(await inboxIds()).toEqual(before);
    const metrics = await (await api(f, "/metrics")).text();
    expect(metrics).toMatch(/fazt_mail_webhook_refusals_total\{reason="bad_signature"\} [2-9]/);
    expect(metrics).toMatch(/fazt_mail_webhook_refusals_total\{reason="stale"\} 2/);
  });

  test("a signed delivery lands at once; its body and attachments are fetched in the background, retried after a failure", async () => {
    const png = crypto.getRandomValues(new Uint8Array(20_000));
    resend.received.set("em_1", {
      from: "alice@sender.example",
      to: ["orders@shop.example.com"],
      subject: "hello em_1",
      text: "the text part",
      html: '<p onclick="steal()">Hi <script>alert(1)</script><img src="https://tracker.example/p.gif"><a href="javascript:x()">x</a></p>',
      headers: { "x-test": "1" },
      attachments: [{ filename: "photo.png", content_type: "image/png", content: png }],
    });
    resend.receivingScript = ["fail"];
    const body = receivedEvent("em_1");
    const headers = signed(body);
    const res = await fetch(`${f.url}/api/hooks/email`, { method: "POST", headers, body });
    expect(res.status).toBe(200);
    const { id } = await json<{ id: string }>(res);
    expect(id).toMatch(/^in_/);
    // The same delivery again (same svix-id) is a replay.
    expect((await fetch(`${f.url}/api/hooks/email`, { method: "POST", headers, body })).status).toBe(401);
    const fetched = async () => {
      const m = await json<Record<string, any>>(api(f, `/api/mail/inbox/${id}`));
      return m.body !== "pending" ? m : null;
    };
    const m = await waitFor(fetched, { what: "the delivery's body fetched in the background", timeoutMs: 10_000, everyMs: 50 });
    expect({ body: m.body, error: m.fetch_error }).toEqual({ body: "complete", error: null });
    expect(resend.receivedFetches.filter((x) => x === "em_1").length).toBeGreaterThanOrEqual(2);
    expect(m.subject).toBe("hello em_1");
    expect(m.text).toBe("the text part");
    expect(m.html).toContain("Hi");
    expect(m.html).not.toContain("script");
    expect(m.html).not.toContain("onclick");
    expect(m.html).not.toContain("tracker.example");
    expect(m.html).not.toContain("javascript:");
    expect(m.attachments).toHaveLength(1);
    const download = await api(f, m.attachments[0].url);
    expect(download.headers.get("content-disposition")).toContain("attachment");
    expect(Buffer.from(await download.arrayBuffer()).equals(Buffer.from(png))).toBe(true);
    // The shop's token sees it (a shop.example.com recipient); the blog's list is empty.
    expect((await api(f, `/api/mail/inbox/${id}`, { token: shopToken })).status).toBe(200);
    const blogToken = (await json<{ token: string }>(api(f, "/api/sites/blog/tokens", { method: "POST" }))).token;
    expect((await api(f, `/api/mail/inbox/${id}`, { token: blogToken })).status).toBe(404);
    expect((await json<{ messages: unknown[] }>(api(f, "/api/mail/inbox", { token: blogToken }))).messages).toEqual([]);
    const byRecipient = await json<{ messages: { id: string }[] }>(api(f, "/api/mail/inbox?to=orders@shop"));
    expect(byRecipient.messages.map((x) => x.id)).toContain(id);

    // GC keeps the attachment while the message exists, and collects it after delete.
    await api(f, "/api/gc", { method: "POST" });
    expect((await api(f, m.attachments[0].url)).status).toBe(200);
    expect((await api(f, `/api/mail/inbox/${id}`, { method: "DELETE" })).status).toBe(200);
    const gc = await json<{ blobs: number }>(api(f, "/api/gc", { method: "POST" }));
    expect(gc.blobs).toBeGreaterThanOrEqual(1);
    expect((await api(f, `/api/mail/inbox/${id}`)).status).toBe(404);
  });
});

test("metrics: outbox depth by status and send latency", async () => {
  const text = await (await api(f, "/metrics")).text();
  expect(text).toMatch(/fazt_mail_outbox_messages\{status="sent"\} [1-9]/);
  expect(text).toMatch(/fazt_mail_outbox_messages\{status="failed"\} [0-9]/);
  expect(text).toMatch(/fazt_mail_send_requests_total\{outcome="done"\} [1-9]/);
  expect(text).toMatch(/fazt_mail_send_seconds_total [0-9.]+/);
});

test("CLI: mail send, outbox, show and inbox", async () => {
  const client = ["--server", f.url, "--token", f.token!];
  const file = join(f.dir, "note.txt");
  writeFileSync(file, "attached by the CLI");
  const sent = await runFazt([
    "mail",
    "send",
    ...client,
    "--from",
    "cli@shop.example.com",
    "--to",
    "x@y.example",
    "--subject",
    "from the cli",
    "--text",
    "body",
    "--attach",
    file,
  ]);
  expect(sent.code).toBe(0);
  const id = /queued (out_[a-z2-7]+)/.exec(sent.stdout)![1]!;
  expect((await settled(id)).status).toBe("sent");
  expect((resend.deliveries.find((d) => d.subject === "from the cli")!.body as { attachments: unknown[] }).attachments).toHaveLength(1);
  const outbox = await runFazt(["mail", "outbox", ...client, "--status", "sent"]);
  expect(outbox.stdout).toContain(id);
  const show = await runFazt(["mail", "show", ...client, id]);
  expect(show.stdout).toContain("status:  sent");
  expect(show.stdout).toContain("attempt 1");
  const inbox = await runFazt(["mail", "inbox", ...client]);
  expect(inbox.code).toBe(0);
  const bad = await runFazt(["mail", "show", ...client, "nonsense"]);
  expect(bad.code).toBe(2);
  const refused = await runFazt([
    "mail",
    "send",
    ...client,
    "--from",
    "a@nobody.example",
    "--to",
    "x@y.example",
    "--subject",
    "s",
    "--text",
    "t",
  ]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toContain("nobody.example");
});
