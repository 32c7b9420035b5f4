// An honest big deploy is read, stored and committed in slices: the server's
// event loop is never held long, so sites keep being served meanwhile. The
// server's own gauge (fazt_event_loop_busy_max_seconds: lateness of its timer
// bounded by the CPU its main thread used, reset by each /metrics read) is the
// measure, so a loaded test machine does not blur it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, cleanup, startFazt, type FaztProcess } from "./helpers/fazt.ts";
import { makeTarGz, makeZip } from "./helpers/archives.ts";
import { metric } from "./helpers/metrics.ts";
import { Store } from "../src/db/index.ts";

/** The longest the loop may be held by any step of a deploy. */
const HOLD_MS = 50;

let f: FaztProcess;
beforeAll(async () => {
  f = await startFazt();
  expect((await api(f, "/api/sites", { method: "POST", json: { name: "big" } })).status).toBe(201);
});
afterAll(async () => {
  await f.stop();
  cleanup(f.dir);
});

/** 2,000 HTML pages of 15 KB (30 MB), each declaring a form: the form scan reads its whole 16 MiB budget. */
function pages(seed: string) {
  const encoder = new TextEncoder();
  return Array.from({ length: 2000 }, (_, i) => ({
    name: `d${i % 20}/p${i}.html`,
    data: encoder.encode(`<form data-fazt-form="f${i}"></form>${`<p>${seed} page ${i}</p>`.repeat(600)}`.slice(0, 15_000)),
  }));
}

describe("a deploy of 20,000 small files, another replacing it, then the site deleted", () => {
  test(`manifests are written and deleted in slices: the event loop never held ${HOLD_MS} ms`, async () => {
    expect((await api(f, "/api/sites", { method: "POST", json: { name: "many" } })).status).toBe(201);
    const encoder = new TextEncoder();
    for (const round of [1, 2]) {
      const entries = Array.from({ length: 20_000 }, (_, i) => ({ name: `d${i % 100}/f${i}.txt`, data: encoder.encode(`${round} ${i}`) }));
      const body = await makeTarGz(entries);
      await metric(f, "fazt_event_loop_busy_max_seconds"); // resets the gauge
      const r = await api(f, "/api/sites/many/deploys", { method: "POST", body });
      const heldMs = (await metric(f, "fazt_event_loop_busy_max_seconds")) * 1000;
      expect(r.status).toBe(201);
      console.log(`20,000 files, round ${round}: longest event-loop hold ${heldMs.toFixed(1)} ms`);
      expect(heldMs).toBeLessThan(HOLD_MS);
    }
    const page = await fetch(`${f.url}/d7/f19907.txt`, { headers: { host: "many.localhost" } });
    expect(await page.text()).toBe("2 19907");
    await metric(f, "fazt_event_loop_busy_max_seconds");
    expect((await api(f, "/api/sites/many", { method: "DELETE" })).status).toBe(200);
    const deleteHeldMs = (await metric(f, "fazt_event_loop_busy_max_seconds")) * 1000;
    console.log(`the site with both deploys deleted: longest event-loop hold ${deleteHeldMs.toFixed(1)} ms`);
    expect(deleteHeldMs).toBeLessThan(HOLD_MS);
    expect((await api(f, "/api/sites/many")).status).toBe(404);
    expect((await fetch(`${f.url}/d7/f19907.txt`, { headers: { host: "many.localhost" } })).status).toBe(404);
  }, 60_000);
});

describe("a site with 30,000 form submissions and 30,000 mails", () => {
  test(`is deleted in slices: submissions gone, mails kept for the admin, the event loop never held ${HOLD_MS} ms`, async () => {
    expect((await api(f, "/api/sites", { method: "POST", json: { name: "spammed" } })).status).toBe(201);
    const store = Store.open(f.db);
    try {
      const { id } = store.write.query("SELECT id FROM sites WHERE name = 'spammed'").get() as { id: number };
      store.tx(() => {
        const submission = store.write.query(
          "INSERT INTO form_submissions (id, site_id, form, fields, client_hash, user_agent, created_at) VALUES (?, ?, 'contact', '[]', 'h', 'ua', ?)",
        );
        const mail = store.write.query(
          `INSERT INTO mail_outbox (id, site_id, sender, recipients, subject, bytes, idempotency_key, status, next_attempt_at, created_at, updated_at)
           VALUES (?, ?, 'a@spammed.example', '[]', 's', 1, ?, 'sent', 0, ?, ?)`,
        );
        for (let i = 0; i < 30_000; i++) {
          submission.run(`sub_${String(i).padStart(16, "0")}`, id, i);
          mail.run(`msg_spammed_${i}`, id, `key_spammed_${i}`, i, i);
        }
      });
      await metric(f, "fazt_event_loop_busy_max_seconds"); // resets the gauge
      expect((await api(f, "/api/sites/spammed", { method: "DELETE" })).status).toBe(200);
      const heldMs = (await metric(f, "fazt_event_loop_busy_max_seconds")) * 1000;
      console.log(`site with 30,000 submissions and 30,000 mails deleted: longest event-loop hold ${heldMs.toFixed(1)} ms`);
      expect(heldMs).toBeLessThan(HOLD_MS);
      expect(store.write.query("SELECT COUNT(*) AS n FROM form_submissions").get()).toEqual({ n: 0 });
      const mails = store.write.query("SELECT COUNT(*) AS n FROM mail_outbox WHERE id LIKE 'msg_spammed_%' AND site_id IS NULL").get();
      expect(mails).toEqual({ n: 30_000 });
    } finally {
      store.close();
    }
  }, 60_000);
});

describe("a 30 MB deploy of 2,000 files", () => {
  for (const kind of ["tar.gz", "zip"] as const) {
    test(`as ${kind}: committed with its forms, the event loop never held ${HOLD_MS} ms`, async () => {
      const entries = pages(kind);
      const body = kind === "zip" ? makeZip(entries) : await makeTarGz(entries);
      await metric(f, "fazt_event_loop_busy_max_seconds"); // resets the gauge
      const r = await api(f, "/api/sites/big/deploys", { method: "POST", body });
      const heldMs = (await metric(f, "fazt_event_loop_busy_max_seconds")) * 1000;
      expect(r.status).toBe(201);
      console.log(`${kind}: longest event-loop hold during the deploy ${heldMs.toFixed(1)} ms`);
      expect(heldMs).toBeLessThan(HOLD_MS);
      // The scan stops at 50 forms (MAX_FORMS); those it found are the site's.
      const listed = (await (await api(f, "/api/sites/big/forms")).json()) as { forms: { declared: string[] }[] };
      expect(listed.forms).toHaveLength(50);
      expect(listed.forms.every((x) => x.declared.includes("html"))).toBe(true);
    }, 60_000);
  }
});
