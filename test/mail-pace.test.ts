// The outbox paces itself to the provider's rate limit instead of learning it
// from 429s: the rate the provider announces (ratelimit-limit) or the one the
// operator sets (--mail-provider-rate), sends spaced evenly at it, a pause
// when a 429 says so. And a sent message's payload
// (body, attachments) is not kept: the provider has it.
import { Database } from "bun:sqlite";
import { afterEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { migrate } from "../src/db/index.ts";
import { migrations } from "../src/db/migrations.ts";
import { DEFAULT_PROVIDER_RATE, ProviderPace } from "../src/mail/pace.ts";
import { api, cleanup, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";
import { ResendStandIn } from "./helpers/resend.ts";
import { waitFor } from "./helpers/wait.ts";

describe("ProviderPace", () => {
  test("follows the announced limit unless the operator set one; ignores nonsense and caps absurd values", () => {
    const learned: number[] = [];
    const pace = new ProviderPace(null, Date.now, (n) => learned.push(n));
    expect(pace.perSecond).toBe(DEFAULT_PROVIDER_RATE);
    pace.observe({ "ratelimit-limit": "10" });
    expect(pace.perSecond).toBe(10);
    pace.observe({ "ratelimit-limit": "120", "ratelimit-policy": "120;w=60" });
    expect(pace.perSecond).toBe(2);
    for (const junk of ["", "abc", "0", "-5"]) pace.observe({ "ratelimit-limit": junk });
    expect(pace.perSecond).toBe(2);
    pace.observe({ "ratelimit-limit": "1000000000" });
    expect(pace.perSecond).toBe(10_000);
    expect(learned).toEqual([10, 2, 10_000]);

    const fixed = new ProviderPace(5);
    fixed.observe({ "ratelimit-limit": "100" });
    expect(fixed.perSecond).toBe(5);
  });

  test("a 429 pauses every call, a huge Retry-After for at most a minute; a window used up at the pace is no pause", () => {
    let now = 1_000_000;
    const pace = new ProviderPace(100, () => now);
    expect(pace.turnsAhead()).toBeGreaterThan(0);
    pace.observe({ "ratelimit-limit": "100", "ratelimit-remaining": "0", "ratelimit-reset": "1" });
    expect(pace.pausedMs()).toBe(0);
    pace.pause(2000);
    expect(pace.pausedMs()).toBe(2000);
    expect(pace.turnsAhead()).toBe(0);
    expect(pace.reserve()).toBe(now + 2000);
    now += 2000;
    expect(pace.pausedMs()).toBe(0);
    expect(pace.turnsAhead()).toBeGreaterThan(0);
    pace.pause(3600 * 1000);
    expect(pace.pausedMs()).toBe(60_000);
  });

  test("calls are spaced at the rate: none runs ahead, whatever the number waiting", async () => {
    const pace = new ProviderPace(100);
    const starts: number[] = [];
    await Promise.all(Array.from({ length: 6 }, () => pace.acquire().then(() => starts.push(performance.now()))));
    // Six calls at 100/s: the last starts 5 intervals (50 ms) after the first. The pace counts in
    // Date.now()'s whole milliseconds and Bun's timers may fire a millisecond early by performance.now():
    // a little slack, far from what running ahead would show (no spacing: ~0 ms; double rate: 25 ms).
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(46);
  });
});

describe("against the server", () => {
  let resend: ResendStandIn;
  let f: FaztProcess;

  afterEach(async () => {
    await f?.stop();
    await resend?.stop();
    if (f) cleanup(f.dir);
  });

  async function start(rate: number, args: string[] = []): Promise<void> {
    resend = new ResendStandIn().start();
    resend.ratePerSecond = rate;
    f = await startFazt({ args: ["--mail-rate", "6000", ...args], env: resend.env() });
    expect((await api(f, "/api/sites", { method: "POST", json: { name: "shop", domains: ["shop.example.com"] } })).status).toBe(201);
  }

  async function queue(n: number, attach = false): Promise<void> {
    for (let i = 0; i < n; i++) {
      const attachments = attach ? [{ filename: "a.bin", content: Buffer.alloc(64 * 1024, i).toString("base64") }] : undefined;
      const body = { from: "hello@shop.example.com", to: [`r${i}@elsewhere.example`], subject: `m${i}`, text: "hi", attachments };
      expect((await api(f, "/api/mail", { method: "POST", json: body })).status).toBe(202);
    }
  }

  test("paces to the limit the provider announces: no 429, sends spread at the rate", async () => {
    await start(20);
    await queue(30);
    await waitFor(() => resend.deliveries.length === 30, { what: "30 deliveries", timeoutMs: 20_000 });
    expect(resend.requests.filter((r) => r.behaviour === "ratelimit")).toHaveLength(0);
    // At 20/s the 30 sends span at least 29 intervals of 50 ms (the first ones go at the default 2/s until the header is read).
    const at = resend.requests.map((r) => r.at);
    expect(at.at(-1)! - at[0]!).toBeGreaterThanOrEqual(29 * 50 - 20);
    expect(f.stderr()).toContain("pacing provider calls to the limit it announces");
  });

  test("--mail-provider-rate wins over a higher announced limit", async () => {
    await start(0, ["--mail-provider-rate", "5"]);
    await queue(6);
    await waitFor(() => resend.deliveries.length === 6, { what: "6 deliveries", timeoutMs: 20_000 });
    const at = resend.requests.map((r) => r.at);
    // The i-th send arrives no earlier than i slots of 200 ms after the first (at 1000/s they would be ~1 ms apart).
    // Slack: one sent late may be followed closely by the next on time, and the first call also opens the
    // connection and warms the SDK, so it arrives up to a few tens of ms after its slot.
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[0]!).toBeGreaterThanOrEqual(i * 200 - 50);
  });

  test("messages held for sending stay within 32 MiB: three of ~9.8 MB at once, never a fourth", async () => {
    await start(0);
    resend.delayMs = 1000;
    const attachment = Buffer.alloc(7 * 1024 * 1024, 7).toString("base64");
    for (let i = 0; i < 5; i++) {
      const body = {
        from: "hello@shop.example.com",
        to: ["r@elsewhere.example"],
        subject: `big${i}`,
        text: "hi",
        attachments: [{ filename: "a.bin", content: attachment }],
      };
      expect((await api(f, "/api/mail", { method: "POST", json: body })).status).toBe(202);
    }
    await waitFor(() => resend.deliveries.length === 5, { what: "5 large deliveries", timeoutMs: 20_000 });
    expect(resend.maxConcurrent).toBe(3);
  });

  test("a sent message's payload is dropped; the message and its attempts stay", async () => {
    await start(0);
    await queue(3, true);
    await waitFor(() => resend.deliveries.length === 3, { what: "3 deliveries", timeoutMs: 10_000 });
    expect(resend.deliveries.every((d) => Array.isArray(d.body.attachments))).toBe(true);
    const db = new Database(f.db, { readonly: true });
    try {
      await waitFor(() => (db.query("SELECT count(*) AS n FROM mail_outbox WHERE status = 'sent'").get() as { n: number }).n === 3, {
        what: "3 messages recorded as sent",
        timeoutMs: 10_000,
      });
      expect(db.query("SELECT count(*) AS n FROM mail_outbox_payloads").get()).toEqual({ n: 0 });
      expect(db.query("SELECT count(*) AS n FROM mail_attempts WHERE outcome = 'sent'").get()).toEqual({ n: 3 });
    } finally {
      db.close();
    }
  });
});

test("migration 0017 moves unsent payloads out of mail_outbox and drops those of sent messages", () => {
  const dir = tempDir("fazt-mail-0017-");
  const db = new Database(join(dir, "fazt.db"));
  try {
    db.run("PRAGMA foreign_keys = ON");
    migrate(
      db,
      migrations.filter((m) => m.version < 17),
    );
    const insert = db.query(
      `INSERT INTO mail_outbox (id, sender, recipients, subject, message, bytes, idempotency_key, status, next_attempt_at, created_at, updated_at)
       VALUES (?, 'a@b.example', '[]', 's', ?, 2, 'k', ?, 0, 0, 0)`,
    );
    insert.run("out_queued", '{"q":1}', "queued");
    insert.run("out_failed", '{"f":1}', "failed");
    insert.run("out_sent", '{"s":1}', "sent");
    migrate(db, migrations);
    expect(db.query("SELECT id, message FROM mail_outbox_payloads ORDER BY id").all()).toEqual([
      { id: "out_failed", message: '{"f":1}' },
      { id: "out_queued", message: '{"q":1}' },
    ]);
    const columns = (db.query("SELECT name FROM pragma_table_info('mail_outbox')").all() as { name: string }[]).map((c) => c.name);
    expect(columns).not.toContain("message");
    expect(db.query("SELECT count(*) AS n FROM mail_outbox").get()).toEqual({ n: 3 });
  } finally {
    db.close();
    cleanup(dir);
  }
});
