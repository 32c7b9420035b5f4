// SIGKILL during sends, 20+ times: after the last restart every message is
// delivered exactly once (the provider dedupes by the message's one
// idempotency key; an expired lease brings a killed send back) and none is lost.
import { afterAll, expect, test } from "bun:test";
import { api, cleanup, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";
import { ResendStandIn } from "./helpers/resend.ts";
import { waitFor } from "./helpers/wait.ts";

const MESSAGES = 60;
const KILLS = 20;

const resend = new ResendStandIn().start();
const dir = tempDir();
let f: FaztProcess | null = null;

afterAll(async () => {
  await f?.stop("SIGKILL");
  await resend.stop();
  cleanup(dir);
});

const env = {
  ...resend.env(),
  FAZT_MAIL_LEASE_MS: "300",
  FAZT_MAIL_TIMEOUT_MS: "150",
  FAZT_MAIL_POLL_MS: "25",
  FAZT_MAIL_RETRY_BASE_MS: "20",
};
const start = () => startFazt({ dir, env, args: ["--mail-rate", "6000"] });

test(`${KILLS} SIGKILLs mid-send: every message delivered once, none lost`, async () => {
  // Slow answers: a send is in flight for a while after the provider accepted it.
  resend.delayMs = 100;
  f = await start();
  const token = f.token!;
  expect((await api(f, "/api/sites", { method: "POST", json: { name: "shop", domains: ["shop.example.com"] } })).status).toBe(201);
  const ids: string[] = [];
  for (let i = 0; i < MESSAGES; i++) {
    const res = await api(f, "/api/mail", {
      method: "POST",
      json: { from: "a@shop.example.com", to: ["b@x.example"], subject: `m${i}`, text: "." },
    });
    expect(res.status).toBe(202);
    ids.push(((await res.json()) as { id: string }).id);
  }
  let kills = 0;
  for (; kills < KILLS && resend.deliveries.length < MESSAGES; kills++) {
    await resend.nextRequest(); // a send is in flight now
    await f.stop("SIGKILL");
    f = await start();
  }
  expect(kills).toBe(KILLS);
  await resend.deliveredCount(MESSAGES);
  // Every row ends 'sent' with the id the provider gave its key.
  let rows: { id: string; status: string; provider_id: string; subject: string }[] = [];
  const allSent = async () => {
    rows = ((await (await api(f!, "/api/mail/outbox?limit=200", { token })).json()) as { messages: typeof rows }).messages;
    return rows.every((r) => r.status === "sent");
  };
  const unsent = () => JSON.stringify(rows.filter((r) => r.status !== "sent"));
  await waitFor(allSent, { what: () => `every outbox row sent (not yet: ${unsent()})`, timeoutMs: 20_000, everyMs: 50 });
  expect(rows.length).toBe(MESSAGES);
  expect(rows.filter((r) => r.status !== "sent")).toEqual([]);
  const subjects = resend.deliveries.map((d) => d.subject).sort();
  expect(subjects).toEqual(Array.from({ length: MESSAGES }, (_, i) => `m${i}`).sort());
  for (const r of rows) {
    const keys = new Set(resend.requests.filter((q) => q.subject === r.subject).map((q) => q.key));
    expect(keys.size).toBe(1); // one key per message, whatever the number of attempts
    expect(resend.deliveries.find((d) => d.subject === r.subject)!.id).toBe(r.provider_id);
  }
  // The kills did hit sends in flight: some messages were sent more than once and deduplicated.
  expect(resend.requests.length).toBeGreaterThan(MESSAGES);
  // ... and their attempt logs say so: an attempt whose process died is 'lost', then the lease brought it back.
  let lostAttempts = 0;
  for (const id of ids) {
    const m = (await (await api(f, `/api/mail/outbox/${id}`, { token })).json()) as { attempt_log: { outcome: string }[] };
    lostAttempts += m.attempt_log.filter((a) => a.outcome === "lost").length;
    expect(m.attempt_log.at(-1)!.outcome).toBe("sent");
  }
  expect(lostAttempts).toBeGreaterThan(0);
}, 120_000);
