// Forms against a real server over HTTP: POST /.fazt/forms/NAME on site hosts,
// the refusals (each leaves nothing stored), rate limits, the notification
// through the Resend stand-in, the API and its CSV export (parsed back with
// csv-parse), and the reserved path that no deploy can shadow.
import { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { migrate } from "../src/db/index.ts";
import { migrations } from "../src/db/migrations.ts";
import { api, cleanup, hostFetch, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";
import { waitFor } from "./helpers/wait.ts";
import { makeTar } from "./helpers/archives.ts";
import { errorOf, expectHealthy, readDb } from "./helpers/hostile.ts";
import { ResendStandIn } from "./helpers/resend.ts";

type FormBody = NonNullable<RequestInit["body"]>;

let f: FaztProcess;
let resend: ResendStandIn;
let blogDeploy: string;

const PAGE = `<!doctype html><meta charset="utf-8"><title>Contact</title>
<form method="post" action="/.fazt/forms/contact" data-fazt-form="contact">
  <input name="name"><textarea name="message"></textarea><button>Send</button>
</form>
<form method="post" action="/.fazt/forms/upload" enctype="multipart/form-data" data-fazt-form='upload'></form>
<div data-fazt-form="Not A Slug"></div>`;

let ipSeq = 0;
/** Every test is its own client (--trust-proxy), so per-client limits do not couple the tests. */
const newClient = () => `198.51.100.${++ipSeq}`;

interface PostOptions {
  type?: string;
  headers?: Record<string, string>;
  site?: string;
  client?: string;
}

function post(form: string, body: FormBody, init: PostOptions = {}) {
  const headers: Record<string, string> = { "x-forwarded-for": init.client ?? newClient(), ...init.headers };
  if (init.type !== undefined) headers["content-type"] = init.type;
  else if (typeof body === "string") headers["content-type"] = "application/x-www-form-urlencoded";
  return hostFetch(f, `${init.site ?? "blog"}.localhost`, `/.fazt/forms/${form}`, { method: "POST", body, headers });
}

const postJson = (form: string, body: FormBody, init: Parameters<typeof post>[2] = {}) =>
  post(form, body, { ...init, headers: { accept: "application/json", ...init.headers } });

function submissions(where = "1"): number {
  return readDb(f, (d) => (d.query(`SELECT count(*) AS n FROM form_submissions WHERE ${where}`).get() as { n: number }).n);
}

/** A multipart body by hand (so it can be wrong on purpose). */
function multipart(boundary: string, parts: { headers: string; body: string | Uint8Array }[], close = true): Uint8Array {
  const chunks: Uint8Array[] = [];
  const enc = new TextEncoder();
  for (const p of parts) {
    const body = typeof p.body === "string" ? enc.encode(p.body) : p.body;
    chunks.push(enc.encode(`--${boundary}\r\n${p.headers}\r\n\r\n`), body, enc.encode("\r\n"));
  }
  if (close) chunks.push(enc.encode(`--${boundary}--\r\n`));
  return Buffer.concat(chunks);
}
const textPart = (name: string, value: string | Uint8Array) => ({ headers: `Content-Disposition: form-data; name="${name}"`, body: value });
const filePart = (name: string, filename: string, bytes: Uint8Array) => ({
  headers: `Content-Disposition: form-data; name="${name}"; filename="${filename}"\r\nContent-Type: application/octet-stream`,
  body: bytes,
});

async function deploy(site: string, files: Record<string, string>): Promise<string> {
  const tar = await makeTar(Object.entries(files).map(([name, data]) => ({ name, data })));
  const res = await api(f, `/api/sites/${site}/deploys`, { method: "POST", body: tar });
  expect(res.status).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function settings(site: string, patch: object): Promise<Response> {
  return api(f, `/api/sites/${site}/settings`, { method: "PATCH", json: patch });
}

beforeAll(async () => {
  resend = new ResendStandIn().start();
  f = await startFazt({
    args: ["--trust-proxy", "--forms-client-rate", "5", "--forms-site-rate", "1000"],
    env: { ...resend.env(), FAZT_MAIL_POLL_MS: "100" },
  });
  for (const [name, domains] of [
    ["blog", ["forms-blog.example.com"]],
    ["plain", []],
  ] as const) {
    expect((await api(f, "/api/sites", { method: "POST", json: { name, domains } })).status).toBe(201);
  }
  blogDeploy = await deploy("blog", { "index.html": "<h1>home</h1>", "contact.html": PAGE });
});

afterAll(async () => {
  await f?.stop();
  await resend?.stop();
  if (f) cleanup(f.dir);
});

describe("a submission", () => {
  test("from a declared form is stored and answered with a 303 back to the page", async () => {
    const client = newClient();
    const res = await post("contact", "name=Ada+L%C3%B6velace&message=hello%0Aworld", {
      client,
      headers: { referer: `http://blog.localhost:${f.port}/contact.html?x=1`, "user-agent": "TestAgent/1" },
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/contact.html?x=1&submitted=contact");
    const row = readDb(f, (d) => d.query("SELECT * FROM form_submissions WHERE form = 'contact' ORDER BY created_at DESC").get()) as Record<
      string,
      string
    >;
    expect(JSON.parse(row.fields!)).toEqual([
      ["name", "Ada Lövelace"],
      ["message", "hello\nworld"],
    ]);
    expect(row.user_agent).toBe("TestAgent/1");
    expect(row.client_hash).toMatch(/^[0-9a-f]{16}$/);
    // The address is nowhere in the row.
    expect(JSON.stringify(row)).not.toContain(client);
  });

  test("goes to _next when it is a path on the same site, else back to the Referer, else to /", async () => {
    const referer = `http://blog.localhost:${f.port}/contact.html`;
    const cases: [string, Record<string, string>, string][] = [
      ["name=a&_next=%2Fthanks.html%3Fa%3D1", { referer }, "/thanks.html?a=1"],
      [`name=a&_next=${encodeURIComponent(`http://blog.localhost:${f.port}/ok`)}`, { referer }, "/ok"],
      ["name=a&_next=https%3A%2F%2Fevil.example%2F", { referer }, "/contact.html?submitted=contact"],
      ["name=a&_next=%2F%2Fevil.example%2F", { referer }, "/contact.html?submitted=contact"],
      ["name=a&_next=%2F%5Cevil.example", { referer }, "/contact.html?submitted=contact"],
      ["name=a", { referer: "https://evil.example/page" }, "/?submitted=contact"],
      ["name=a", {}, "/?submitted=contact"],
    ];
    for (const [body, headers, location] of cases) {
      const res = await post("contact", body, { headers });
      expect(res.status).toBe(303);
      expect(res.headers.get("location")).toBe(location);
    }
    // _next is not stored as a field.
    const fields = readDb(f, (d) => d.query("SELECT fields FROM form_submissions").all()) as { fields: string }[];
    expect(fields.some((r) => r.fields.includes("_next"))).toBe(false);
  });

  test("with Accept: application/json gets its id", async () => {
    const res = await postJson("contact", "name=json");
    expect(res.status).toBe(200);
    const body = (await res.json()) as { ok: boolean; id: string; form: string };
    expect(body).toMatchObject({ ok: true, form: "contact" });
    expect(submissions(`id = '${body.id}'`)).toBe(1);
  });

  test("to a form the site does not declare is refused (404) and nothing is stored", async () => {
    const before = submissions();
    for (const name of ["nope", "Not%20A%20Slug", "not-a-slug", "a".repeat(41), "a%2Fb", "x?y", ""]) {
      const res = await postJson(name, "name=x");
      expect(res.status).toBe(404);
      if (name) expect((await errorOf(res)).code).toBe("form_not_found");
    }
    // A site without forms, and a form another site declares.
    expect((await postJson("contact", "name=x", { site: "plain" })).status).toBe(404);
    expect((await postJson("x", "name=x", { site: "plain" })).status).toBe(404);
    expect(submissions()).toBe(before);
  });

  test("with the honeypot filled looks like success and stores nothing", async () => {
    const before = submissions();
    const referer = `http://blog.localhost:${f.port}/contact.html`;
    const res = await post("contact", "name=bot&_gotcha=http%3A%2F%2Fspam", { headers: { referer } });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe("/contact.html?submitted=contact");
    const json = await postJson("contact", multipart("b0undary", [textPart("name", "bot"), textPart("_gotcha", "x")]), {
      type: "multipart/form-data; boundary=b0undary",
    });
    expect(json.status).toBe(200);
    const { id } = (await json.json()) as { id: string };
    expect(id).toMatch(/^sub_[a-z2-7]{16}$/);
    expect(submissions()).toBe(before);
    // An empty honeypot is what people send: stored.
    expect((await postJson("contact", "name=person&_gotcha=")).status).toBe(200);
    expect(submissions()).toBe(before + 1);
    const metrics = await (await api(f, "/metrics")).text();
    expect(Number(/^fazt_form_submissions_total\{outcome="honeypot"\} (\d+)$/m.exec(metrics)?.[1])).toBe(2);
  });
});

describe("limits and malformed bodies refuse without storing", () => {
  const B = "XyZb0und";
  const mp = (parts: Parameters<typeof multipart>[1], close = true) => multipart(B, parts, close);
  const MP = `multipart/form-data; boundary=${B}`;
  const MiB = 1024 * 1024;
  const cases: { what: string; body: () => FormBody; type?: string; status: number; code: string; mentions?: string }[] = [
    {
      what: "urlencoded body over 256 KiB",
      body: () => `a=${"x".repeat(256 * 1024)}`,
      status: 413,
      code: "body_too_large",
      mentions: "262144",
    },
    {
      what: "urlencoded body over 256 KiB without Content-Length",
      body: () => new Blob([`a=${"x".repeat(300 * 1024)}`]).stream(),
      status: 413,
      code: "body_too_large",
    },
    {
      what: "101 urlencoded fields",
      body: () => Array.from({ length: 101 }, (_, i) => `f${i}=1`).join("&"),
      status: 413,
      code: "too_many_fields",
      mentions: "100",
    },
    { what: "a field over 64 KiB", body: () => `a=${"x".repeat(64 * 1024 + 1)}`, status: 413, code: "field_too_large", mentions: "65536" },
    { what: "a field name over 200 bytes", body: () => `${"n".repeat(201)}=1`, status: 413, code: "field_name_too_long" },
    { what: "percent-encoded invalid UTF-8", body: () => "name=%FF%FE", status: 400, code: "invalid_encoding" },
    {
      what: "raw Latin-1 bytes",
      body: () => new Uint8Array([0x6e, 0x3d, 0xe9, 0x74, 0xe9]),
      type: "application/x-www-form-urlencoded",
      status: 400,
      code: "invalid_encoding",
    },
    { what: "an overlong UTF-8 slash", body: () => "name=%C0%AF", status: 400, code: "invalid_encoding" },
    { what: "broken percent-encoding", body: () => "name=%zz", status: 400, code: "malformed_body" },
    { what: "no fields at all", body: () => "", status: 400, code: "empty_submission" },
    { what: "text/plain", body: () => "name=x", type: "text/plain", status: 415, code: "unsupported_media_type" },
    { what: "JSON", body: () => '{"name":"x"}', type: "application/json", status: 415, code: "unsupported_media_type" },
    {
      what: "multipart without a boundary",
      body: () => mp([textPart("a", "1")]),
      type: "multipart/form-data",
      status: 400,
      code: "malformed_body",
    },
    {
      what: "multipart with another boundary",
      body: () => multipart("other", [textPart("a", "1")]),
      type: MP,
      status: 400,
      code: "malformed_body",
    },
    {
      what: "multipart without its closing boundary",
      body: () => mp([textPart("a", "1")], false),
      type: MP,
      status: 400,
      code: "malformed_body",
    },
    { what: "multipart garbage", body: () => crypto.getRandomValues(new Uint8Array(4096)), type: MP, status: 400, code: "malformed_body" },
    {
      what: "a part without Content-Disposition",
      body: () => mp([{ headers: "Content-Type: text/plain", body: "x" }]),
      type: MP,
      status: 400,
      code: "malformed_body",
    },
    {
      what: "a part whose headers never end",
      body: () => Buffer.from(`--${B}\r\nContent-Disposition: form-data; name="a"\r\nX: ${"y".repeat(20000)}`),
      type: MP,
      status: 400,
      code: "malformed_body",
    },
    {
      what: "a multipart field in Latin-1",
      body: () => mp([textPart("name", new Uint8Array([0xe9, 0x74, 0xe9]))]),
      type: MP,
      status: 400,
      code: "invalid_encoding",
    },
    {
      what: "101 multipart fields",
      body: () => mp(Array.from({ length: 101 }, (_, i) => textPart(`f${i}`, "1"))),
      type: MP,
      status: 413,
      code: "too_many_fields",
    },
    {
      what: "106 empty file parts (left out, but counted)",
      body: () => mp(Array.from({ length: 106 }, (_, i) => filePart(`f${i}`, "", new Uint8Array(0)))),
      type: MP,
      status: 413,
      code: "too_many_parts",
    },
    {
      what: "a file over 5 MiB",
      body: () => mp([textPart("a", "1"), filePart("doc", "big.bin", new Uint8Array(5 * MiB + 1))]),
      type: MP,
      status: 413,
      code: "file_too_large",
      mentions: String(5 * MiB),
    },
    {
      what: "6 files",
      body: () => mp(Array.from({ length: 6 }, (_, i) => filePart(`f${i}`, `${i}.txt`, new Uint8Array([65])))),
      type: MP,
      status: 413,
      code: "too_many_files",
    },
    {
      what: "a multipart body with a 20 MiB part",
      body: () => mp([filePart("doc", "huge.bin", new Uint8Array(20 * MiB))]),
      type: MP,
      status: 413,
      code: "body_too_large",
      mentions: String(8 * MiB),
    },
    {
      what: "a 20 MiB multipart body without Content-Length",
      body: () => new Blob([mp([filePart("doc", "huge.bin", new Uint8Array(20 * MiB))])]).stream(),
      type: MP,
      status: 413,
      code: "body_too_large",
    },
  ];

  for (const c of cases) {
    test(c.what, async () => {
      const before = submissions();
      const res = await postJson("upload", c.body(), { type: c.type ?? "application/x-www-form-urlencoded" });
      const err = await errorOf(res);
      expect(`${err.status} ${err.code}`).toBe(`${c.status} ${c.code}`);
      if (c.mentions) expect(err.message).toContain(c.mentions);
      expect(submissions()).toBe(before);
    });
  }

  test("a browser sees the refusal as text naming the limit", async () => {
    const res = await post("contact", `a=${"x".repeat(64 * 1024 + 1)}`);
    expect(res.status).toBe(413);
    expect(res.headers.get("content-type")).toStartWith("text/plain");
    expect(await res.text()).toContain("limit: field size");
  });

  test("afterwards the server is healthy and the site unchanged", async () => {
    await expectHealthy(f, [{ site: "blog", deployId: blogDeploy, pages: { "/": "<h1>home</h1>" } }]);
  });
});

describe("rate limits", () => {
  test("one client gets 429 with Retry-After past its rate; another client does not", async () => {
    const client = newClient();
    for (let i = 0; i < 5; i++) expect((await postJson("contact", `name=r${i}`, { client })).status).toBe(200);
    const refused = await postJson("contact", "name=r5", { client });
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get("retry-after"))).toBeGreaterThan(0);
    expect((await errorOf(refused)).code).toBe("rate_limited");
    expect((await postJson("contact", "name=other")).status).toBe(200);
  });

  test("one site gets 429 past its rate, whatever the clients", async () => {
    const other = await startFazt({ args: ["--trust-proxy", "--forms-site-rate", "3"] });
    try {
      const created = await api(other, "/api/sites", { method: "POST", json: { name: "flood" } });
      expect(created.status).toBe(201);
      expect((await api(other, "/api/sites/flood/settings", { method: "PATCH", json: { forms: { x: {} } } })).status).toBe(200);
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await hostFetch(other, "flood.localhost", "/.fazt/forms/x", {
          method: "POST",
          body: `n=${i}`,
          headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": newClient() },
        });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([303, 303, 303, 429, 429]);
      const stored = readDb(other, (d) => (d.query("SELECT count(*) AS n FROM form_submissions").get() as { n: number }).n);
      expect(stored).toBe(3);
    } finally {
      await other.stop();
      cleanup(other.dir);
    }
  });
});

describe("a site's share of storage", () => {
  test("past --forms-max-bytes: 507 form_storage_full, before the body is read when full; deleting submissions makes room", async () => {
    const other = await startFazt({ args: ["--trust-proxy", "--forms-max-bytes", "3000"] });
    try {
      expect((await api(other, "/api/sites", { method: "POST", json: { name: "spam" } })).status).toBe(201);
      expect((await api(other, "/api/sites/spam/settings", { method: "PATCH", json: { forms: { x: {} } } })).status).toBe(200);
      const submit = (value: string) =>
        hostFetch(other, "spam.localhost", "/.fazt/forms/x", {
          method: "POST",
          body: `n=${value}`,
          headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": newClient(), accept: "application/json" },
        });
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await submit(`${i}${"x".repeat(900)}`)).status);
      // ~920 bytes each: three fit in 3,000, the fourth would not.
      expect(statuses).toEqual([200, 200, 200, 507, 507]);
      const small = await submit("small");
      expect(small.status).toBe(200); // a small one still fits the rest of the share
      const full = await submit("y".repeat(300));
      expect(full.status).toBe(507);
      expect((await errorOf(full)).code).toBe("form_storage_full");
      const view = (await (await api(other, "/api/sites/spam/forms")).json()) as { stored_bytes: number; max_bytes: number };
      expect(view.max_bytes).toBe(3000);
      const counted = readDb(other, (d) => d.query("SELECT SUM(bytes) AS n FROM form_submissions").get() as { n: number });
      expect(view.stored_bytes).toBe(counted.n);
      expect(view.stored_bytes).toBeGreaterThan(2700);
      // Deleting a submission gives its bytes back (newest first: [1] is the third ~920-byte one).
      const list = (await (await api(other, "/api/sites/spam/forms/x/submissions")).json()) as { submissions: { id: string }[] };
      expect((await api(other, `/api/sites/spam/forms/x/submissions/${list.submissions[1]!.id}`, { method: "DELETE" })).status).toBe(200);
      expect((await submit(`again${"x".repeat(700)}`)).status).toBe(200);
      // The operator lowers the share below what is stored: the site is full, and a submission is refused
      // before its body is read (one over the urlencoded cap would otherwise be a 413).
      await other.stop();
      const lowered = await startFazt({ dir: other.dir, db: other.db, args: ["--trust-proxy", "--forms-max-bytes", "1000"] });
      try {
        const res = await hostFetch(lowered, "spam.localhost", "/.fazt/forms/x", {
          method: "POST",
          body: `n=${"z".repeat(300 * 1024)}`,
          headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": newClient(), accept: "application/json" },
        });
        expect(res.status).toBe(507);
        expect((await errorOf(res)).code).toBe("form_storage_full");
      } finally {
        await lowered.stop();
      }
    } finally {
      await other.stop();
      cleanup(other.dir);
    }
  });
});

describe("files", () => {
  test("are stored as held blobs, downloaded as attachments, and released when the submission is deleted", async () => {
    const bytes = crypto.getRandomValues(new Uint8Array(300 * 1024));
    const parts = [textPart("name", "with file"), filePart("cv", "dir/my cv.pdf", bytes), filePart("empty", "", new Uint8Array(0))];
    const body = multipart("fileB", parts);
    const res = await postJson("upload", body, { type: "multipart/form-data; boundary=fileB" });
    expect(res.status).toBe(200);
    const { id } = (await res.json()) as { id: string };
    const list = (await (await api(f, "/api/sites/blog/forms/upload/submissions")).json()) as {
      submissions: { id: string; files: { filename: string; size: number; field: string }[] }[];
    };
    const sub = list.submissions.find((s) => s.id === id)!;
    const expected = { seq: 0, field: "cv", filename: "my cv.pdf", content_type: "application/octet-stream", size: bytes.length };
    expect(sub.files).toEqual([expected] as never);
    const file = await api(f, `/api/sites/blog/forms/upload/submissions/${id}/files/0`);
    expect(file.headers.get("content-disposition")).toStartWith("attachment;");
    expect(new Uint8Array(await file.arrayBuffer())).toEqual(bytes);
    const held = () =>
      readDb(f, (d) => (d.query("SELECT count(*) AS n FROM blob_holds WHERE holder = ?").get(`form:${id}`) as { n: number }).n);
    expect(held()).toBe(1);

    expect((await api(f, `/api/sites/blog/forms/upload/submissions/${id}`, { method: "DELETE" })).status).toBe(200);
    expect(held()).toBe(0);
    expect((await api(f, `/api/sites/blog/forms/upload/submissions/${id}`, { method: "DELETE" })).status).toBe(404);
    expect((await api(f, "/api/gc", { method: "POST" })).status).toBe(200);
    const hash = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
    expect(readDb(f, (d) => d.query("SELECT 1 FROM blobs WHERE hash = ?").get(hash))).toBeNull();
  });
});

describe("notifications", () => {
  test("need a sender domain the site owns (settings refuse notify otherwise)", async () => {
    const res = await settings("plain", { forms: { hello: { notify: ["owner@example.com"] } } });
    expect(res.status).toBe(400);
    const err = await errorOf(res);
    expect(err.code).toBe("no_sender");
    expect(err.message).toContain("custom domain");
    expect((await settings("plain", { forms: { hello: { notify: ["not an address"] } } })).status).toBe(400);
    expect((await settings("plain", { forms: { "Bad Name": {} } })).status).toBe(400);
  });

  test("one submission reaches the Resend stand-in exactly once", async () => {
    const ok = await settings("blog", { forms: { contact: { notify: ["owner@example.com"] }, quote: {} } });
    expect(ok.status).toBe(200);
    const delivered = resend.nextRequest((r) => r.subject.includes("contact on blog"));
    const res = await postJson("contact", "name=Grace&email=grace%40example.org&message=Ping%2C+please");
    const { id } = (await res.json()) as { id: string };
    const request = await delivered;
    expect(request.body).toMatchObject({
      from: "Fazt forms <forms@forms-blog.example.com>",
      to: ["owner@example.com"],
      reply_to: ["grace@example.org"],
    });
    expect(String(request.body.text)).toContain("message: Ping, please");
    expect(String(request.body.text)).toContain(id);
    // The outbox row ends sent; nothing else goes out for it.
    await waitFor(
      async () => {
        const out = (await (await api(f, "/api/mail/outbox")).json()) as { messages: { subject: string; status: string }[] };
        const mine = out.messages.filter((m) => m.subject.includes("contact on blog"));
        expect(mine.length).toBe(1);
        return mine[0]!.status === "sent";
      },
      { what: "the notification's outbox row sent", timeoutMs: 10_000, everyMs: 50 },
    );
    expect(resend.deliveries.filter((d) => d.subject.includes("contact on blog")).length).toBe(1);
    expect(resend.requests.filter((r) => r.subject.includes("contact on blog")).length).toBe(1);
    // A form declared only in settings is accepted too.
    expect((await postJson("quote", "item=1")).status).toBe(200);
  });
});

describe("the API", () => {
  test("lists forms with where they are declared and their counts", async () => {
    const r = (await (await api(f, "/api/sites/blog/forms")).json()) as {
      forms: { name: string; declared: string[]; submissions: number; accepting: boolean }[];
    };
    const byName = Object.fromEntries(r.forms.map((x) => [x.name, x]));
    expect(byName.contact!.declared).toEqual(["settings", "html"]);
    expect(byName.upload!.declared).toEqual(["html"]);
    expect(byName.quote!.declared).toEqual(["settings"]);
    expect(byName.contact!.submissions).toBe(submissions("form = 'contact' AND site_id = (SELECT id FROM sites WHERE name = 'blog')"));
    expect(Object.keys(byName)).not.toContain("Not A Slug");
  });

  test("pages through submissions newest first", async () => {
    const seen: string[] = [];
    let before: string | null = null;
    do {
      const q: string = before ? `&before=${before}` : "";
      const page = (await (await api(f, `/api/sites/blog/forms/contact/submissions?limit=3${q}`)).json()) as {
        submissions: { id: string; created_at: string }[];
        next: string | null;
      };
      expect(page.submissions.length).toBeLessThanOrEqual(3);
      seen.push(...page.submissions.map((s) => s.id));
      before = page.next;
    } while (before);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(submissions("form = 'contact' AND site_id = (SELECT id FROM sites WHERE name = 'blog')"));
    expect((await api(f, "/api/sites/blog/forms/contact/submissions?limit=0")).status).toBe(400);
  });

  test("a site token sees only its own site's forms", async () => {
    const created = (await (await api(f, "/api/sites/plain/tokens", { method: "POST", json: {} })).json()) as { token: string };
    expect((await api(f, "/api/sites/blog/forms", { token: created.token })).status).toBe(403);
    expect((await api(f, "/api/sites/plain/forms", { token: created.token })).status).toBe(200);
  });

  test("CSV export round-trips commas, quotes, newlines and Unicode, and defuses formulas", async () => {
    await settings("plain", { forms: { csv: {} } });
    const values = [
      { name: 'Smith, "Jo"', message: 'line 1\nline 2\r\nline 3, with "quotes"', city: "Zürich 🏔" },
      { name: '=HYPERLINK("http://evil")', message: "+1", city: "@home" },
      { name: "", message: "-5", city: "plain" },
    ];
    for (const v of values) {
      const body = new URLSearchParams(v).toString();
      expect((await postJson("csv", body, { site: "plain" })).status).toBe(200);
    }
    const res = await api(f, "/api/sites/plain/forms/csv/submissions?format=csv");
    expect(res.headers.get("content-type")).toStartWith("text/csv");
    const rows = parseCsv(await res.text(), { columns: true }) as Record<string, string>[];
    expect(rows.length).toBe(3);
    const back = rows.map((r) => ({ name: r.name, message: r.message, city: r.city }));
    const byCity = (city: string) => back.find((r) => r.city === city);
    expect(byCity(values[0]!.city)).toEqual(values[0]!);
    expect(byCity("'@home")).toEqual({ name: '\'=HYPERLINK("http://evil")', message: "'+1", city: "'@home" });
    expect(byCity("plain")).toEqual({ name: "", message: "'-5", city: "plain" });
    for (const r of rows) expect(r.id).toMatch(/^sub_/);
  });
});

describe("the reserved path", () => {
  test("no deployed .fazt/ file or _redirects rule shadows it, with dotfiles on or off", async () => {
    const published = (id: string) => {
      const rows = readDb(f, (d) => d.query("SELECT path FROM deploy_files WHERE deploy_id = ?").all(id)) as { path: string }[];
      return rows.map((p) => p.path).sort();
    };
    const off = await deploy("plain", { "index.html": "x", ".fazt/forms/contact": "shadow", ".env": "SECRET=1" });
    expect(published(off)).toEqual(["/index.html"]);
    await settings("plain", { dotfiles: true, forms: { csv: {}, contact: {} } });
    const files = {
      "index.html": "<h1>plain</h1>",
      ".fazt/forms/contact": "shadow",
      ".env": "SECRET=1",
      _redirects: "/.fazt/* /index.html 200!\n/* /index.html 200\n",
    };
    const id = await deploy("plain", files);
    expect(published(id)).toEqual(["/.env", "/_redirects", "/index.html"]);
    const res = await postJson("contact", "name=still+a+form", { site: "plain" });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { ok: boolean }).ok).toBe(true);
    // A single-file PUT under /.fazt/ is refused by name.
    const put = await api(f, "/api/sites/plain/files/.fazt/forms/contact", { method: "PUT", body: "x" });
    expect((await errorOf(put)).code).toBe("reserved_path");
    // GET is the site's business (the _redirects rule answers), never the forms receiver.
    const get = await hostFetch(f, "plain.localhost", "/.fazt/forms/contact");
    expect(await get.text()).toBe("<h1>plain</h1>");
  });
});

test("migration 0019 counts what each site's existing submissions hold, files included", () => {
  const dir = tempDir("fazt-forms-0019-");
  const db = new Database(join(dir, "fazt.db"));
  try {
    db.run("PRAGMA foreign_keys = ON");
    migrate(
      db,
      migrations.filter((m) => m.version < 19),
    );
    db.run("INSERT INTO sites (id, name, created_at) VALUES (1, 'a', 0), (2, 'b', 0)");
    db.run("INSERT INTO blobs (id, hash, size, chunks, created_at) VALUES (1, 'h', 500, 1, 0)");
    const submission = db.query(
      "INSERT INTO form_submissions (id, site_id, form, fields, client_hash, user_agent, created_at) VALUES (?, ?, 'x', ?, 'h', ?, 0)",
    );
    submission.run("sub_a1", 1, '[["n","été"]]', "UA"); // 15 bytes of fields (é is two), 2 of user agent
    submission.run("sub_a2", 1, "[]", null);
    submission.run("sub_b1", 2, "[]", "agent");
    db.run(
      "INSERT INTO form_files (submission_id, seq, field, filename, content_type, size, blob_id) VALUES ('sub_a2', 0, 'f', 'x', 'y', 500, 1)",
    );
    migrate(db, migrations);
    expect(db.query("SELECT site_id, bytes FROM form_site_bytes ORDER BY site_id").all()).toEqual([
      { site_id: 1, bytes: 17 + 502 },
      { site_id: 2, bytes: 7 },
    ]);
    // From then on the triggers keep it.
    db.run("DELETE FROM form_submissions WHERE id = 'sub_a2'");
    expect(db.query("SELECT bytes FROM form_site_bytes WHERE site_id = 1").get()).toEqual({ bytes: 17 });
  } finally {
    db.close();
    cleanup(dir);
  }
});
