// Protected sites and paths against a real server over HTTP: `Basic-Auth`
// lines of `_headers` (hashed as they arrive, never stored in clear), the
// site password's sign-in page in headless Chromium, private previews, the
// failure limit, and no password in any answer, log line or database byte.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { api, cleanup, hostFetch, startFazt, type FaztProcess } from "./helpers/fazt.ts";
import { launchChromium } from "./helpers/browser.ts";
import { makeTarGz, makeZip } from "./helpers/archives.ts";

// Every secret below must never come back in clear.
const ALICE = "s3cret-alice-7Qx";
const BOB = "pa:ss:word-bob-9Zk"; // a ":" inside the password
const ZOE = "пароль✓-zoë-4Hm"; // not Latin-1
const CAROL = "carol-pdf-2Wv";
const DAVE = "dave-incremental-5Rt";
const ERIN = "erin-stored-zip-3Kd"; // in a zip stored without compression: the spool must not keep it in clear
const SITE_PASSWORD = "correct horse ✓ 8Jp";
const SECRETS = [ALICE, BOB, ZOE, CAROL, DAVE, ERIN, SITE_PASSWORD];

const HEADERS_FILE = [
  "/private/*",
  `  Basic-Auth: alice:${ALICE} bob:${BOB}`,
  "  X-Private: yes",
  "/unicode",
  `  Basic-Auth: zoë:${ZOE}`,
  "/*.pdf",
  `  Basic-Auth: carol:${CAROL}`,
  "/*",
  "  X-Frame-Options: DENY",
  "",
].join("\n");

let f: FaztProcess;
/** Every body the tests received: none may hold a secret. */
const bodies: string[] = [];
let client = 0;
/** A fresh client address per test (the server trusts X-Forwarded-For here), so failure limits do not leak between tests. */
const newClient = () => `10.0.0.${++client}`;

async function get(host: string, path: string, headers: Record<string, string> = {}): Promise<Response> {
  const res = await hostFetch(f, host, path, { headers });
  bodies.push(await res.clone().text());
  return res;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`;

beforeAll(async () => {
  f = await startFazt({ args: ["--trust-proxy"] });
  for (const name of ["app", "incr", "locked", "zipped"]) await api(f, "/api/sites", { method: "POST", json: { name } });
  const zip = makeZip([
    { name: "index.html", data: "zipped home" },
    { name: "_headers", data: `/*\n  Basic-Auth: erin:${ERIN}\n` },
  ]);
  expect((await api(f, "/api/sites/zipped/deploys", { method: "POST", body: zip })).status).toBe(201);
  const body = await makeTarGz([
    { name: "index.html", data: "<h1>public home</h1>" },
    { name: "public.html", data: "public page" },
    { name: "private/index.html", data: "private index" },
    { name: "private/doc.html", data: "private doc" },
    { name: "privately.html", data: "not under /private/" },
    { name: "unicode.html", data: "unicode page" },
    { name: "files/a.pdf", data: "%PDF-a" },
    { name: "_headers", data: HEADERS_FILE },
  ]);
  const res = await api(f, "/api/sites/app/deploys", { method: "POST", body });
  expect(res.status).toBe(201);
});

afterAll(async () => {
  await f.stop();
  cleanup(f.dir);
});

describe("Basic-Auth in _headers", () => {
  test("protects exactly the matching paths: 401 with WWW-Authenticate, 200 with the right credentials, 401 with wrong ones", async () => {
    const ip = newClient();
    const open = await get("app.localhost", "/public", { "x-forwarded-for": ip });
    expect([open.status, open.headers.get("cache-control")]).toEqual([200, "public, max-age=0, must-revalidate"]);
    expect((await get("app.localhost", "/privately", { "x-forwarded-for": ip })).status).toBe(200);
    for (const path of ["/private/", "/private/doc", "/private/doc.html", "/private/missing", "/private", "/%70rivate/doc"]) {
      const res = await get("app.localhost", path, { "x-forwarded-for": ip });
      expect([path, res.status, res.headers.get("www-authenticate")]).toEqual([path, 401, 'Basic realm="app", charset="UTF-8"']);
      expect(res.headers.get("cache-control")).toBe("private, no-store");
      expect(await res.text()).not.toContain("private");
    }
    const ok = await get("app.localhost", "/private/doc", { authorization: basic("alice", ALICE), "x-forwarded-for": ip });
    expect([ok.status, await ok.text()]).toEqual([200, "private doc"]);
    expect(ok.headers.get("cache-control")).toBe("private, no-store");
    expect(ok.headers.get("x-private")).toBe("yes");
    const again = await get("app.localhost", "/private/", { authorization: basic("alice", ALICE), "x-forwarded-for": ip });
    expect([again.status, await again.text()]).toEqual([200, "private index"]);
    const bob = await get("app.localhost", "/private/doc", { authorization: basic("bob", BOB), "x-forwarded-for": ip });
    expect(bob.status).toBe(200);
    for (const [user, password] of [
      ["alice", BOB],
      ["bob", "pa"],
      ["carol", CAROL],
      ["mallory", ALICE],
      ["alice", `${ALICE}x`],
    ] as const) {
      const res = await get("app.localhost", "/private/doc", { authorization: basic(user, password), "x-forwarded-for": newClient() });
      expect([user, res.status]).toEqual([user, 401]);
    }
  });

  test("a splat path (/*.pdf) and a unicode password", async () => {
    const ip = newClient();
    for (const path of ["/files/a.pdf", "/a.pdf"]) expect((await get("app.localhost", path, { "x-forwarded-for": ip })).status).toBe(401);
    const pdf = await get("app.localhost", "/files/a.pdf", { authorization: basic("carol", CAROL), "x-forwarded-for": ip });
    expect([pdf.status, await pdf.text()]).toEqual([200, "%PDF-a"]);
    expect((await get("app.localhost", "/unicode", { "x-forwarded-for": ip })).status).toBe(401);
    const uni = await get("app.localhost", "/unicode", { authorization: basic("zoë", ZOE), "x-forwarded-for": ip });
    expect([uni.status, await uni.text()]).toEqual([200, "unicode page"]);
    // Latin-1 bytes of the same text are not its UTF-8: refused, not crashed on.
    const latin1 = `Basic ${Buffer.from(`zo\xeb:${ZOE}`, "latin1").toString("base64")}`;
    expect((await get("app.localhost", "/unicode", { authorization: latin1, "x-forwarded-for": newClient() })).status).toBe(401);
  });

  test("malformed and very long Authorization headers are 401s", async () => {
    const bad = [
      "Basic",
      "Basic ",
      "Basic !!!!",
      "Basic ====",
      "Bearer abc",
      "Digest username=alice",
      `Basic ${Buffer.from("no-colon").toString("base64")}`,
      `Basic ${Buffer.from([0xff, 0xfe, 0x3a, 0x41]).toString("base64")}`,
      `Basic ${Buffer.from(`alice:${ALICE}`).toString("base64")}extra`,
      `Basic ${"A".repeat(8000)}`,
      `Basic ${Buffer.from(`alice:${"x".repeat(6000)}`).toString("base64")}`,
    ];
    for (const authorization of bad) {
      const res = await get("app.localhost", "/private/doc", { authorization, "x-forwarded-for": newClient() });
      expect([authorization.slice(0, 40), res.status]).toEqual([authorization.slice(0, 40), 401]);
    }
  });

  test("failed attempts are limited per client: 429 with Retry-After, even for right credentials; other clients unaffected", async () => {
    const ip = newClient();
    for (let i = 0; i < 10; i++) {
      const res = await get("app.localhost", "/private/doc", { authorization: basic("alice", `wrong${i}`), "x-forwarded-for": ip });
      expect(res.status).toBe(401);
    }
    const limited = await get("app.localhost", "/private/doc", { authorization: basic("alice", ALICE), "x-forwarded-for": ip });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    const other = await get("app.localhost", "/private/doc", { authorization: basic("alice", ALICE), "x-forwarded-for": newClient() });
    expect(other.status).toBe(200);
    expect((await get("app.localhost", "/public", { "x-forwarded-for": ip })).status).toBe(200);
  });

  test("an incremental deploy hashes the passwords of its _headers too; _headers is never served", async () => {
    const headers = `/*\n  Basic-Auth: dave:${DAVE}\n`;
    const files = { "/index.html": "incremental home", "/_headers": headers };
    const hashes = Object.fromEntries(Object.entries(files).map(([p, c]) => [p, new Bun.CryptoHasher("sha256").update(c).digest("hex")]));
    const opened = await api(f, "/api/sites/incr/uploads", { method: "POST", json: { files: hashes } });
    const { id, required } = (await opened.json()) as { id: string; required: string[] };
    for (const [p, c] of Object.entries(files)) {
      if (!required.includes(hashes[p]!)) continue;
      const put = await api(f, `/api/sites/incr/uploads/${id}/blobs/${hashes[p]}`, { method: "PUT", body: c });
      expect(put.status).toBe(201);
    }
    expect((await api(f, `/api/sites/incr/uploads/${id}/commit`, { method: "POST", json: {} })).status).toBe(201);
    expect((await get("incr.localhost", "/", { "x-forwarded-for": newClient() })).status).toBe(401);
    const ok = await get("incr.localhost", "/", { authorization: basic("dave", DAVE), "x-forwarded-for": newClient() });
    expect([ok.status, await ok.text()]).toEqual([200, "incremental home"]);
    const file = await get("incr.localhost", "/_headers", { authorization: basic("dave", DAVE), "x-forwarded-for": newClient() });
    expect(file.status).toBe(404);
  });

  test("a malformed Basic-Auth line fails the deploy naming the line, never the password", async () => {
    const many = Array.from({ length: 101 }, (_, i) => `u${i}:${CAROL}${i}`).join(" ");
    const cases: [string, string][] = [
      [
        `/*\n  Basic-Auth: alice:${ALICE} ${CAROL}\n`,
        "_headers line 2: Basic-Auth credential 2 is not user:password (a user and a password, no spaces)",
      ],
      [
        `/*\n  Basic-Auth: alice:${ALICE} :${CAROL}\n`,
        "_headers line 2: Basic-Auth credential 2 is not user:password (a user and a password, no spaces)",
      ],
      [`/*\n  Basic-Auth: alice:\n`, "_headers line 2: Basic-Auth credential 1 is not user:password (a user and a password, no spaces)"],
      [`/*\n  Basic-Auth:\n`, "_headers line 2: Basic-Auth needs at least one user:password"],
      [`/*\n  X-A: b\nBasic-Auth: alice:${ALICE}\n`, "_headers line 3: a Basic-Auth line must be indented under a path line"],
      [`/*\n  basic-auth: alice:${ALICE}\x01\n`, "_headers line 2: Basic-Auth credential 1 contains a control character"],
      [`/*\n  Basic-Auth: ${many}\n`, "_headers line 2: more Basic-Auth credentials than the limit (100 per file)"],
    ];
    for (const [file, message] of cases) {
      const body = await makeTarGz([
        { name: "index.html", data: "x" },
        { name: "_headers", data: file },
      ]);
      const res = await api(f, "/api/sites/app/deploys", { method: "POST", body });
      const text = await res.text();
      bodies.push(text);
      expect([res.status, JSON.parse(text).error.message]).toEqual([400, message]);
    }
    expect((await get("app.localhost", "/private/doc", { "x-forwarded-for": newClient() })).status).toBe(401);
  });
});

describe("site password", () => {
  test("the API stores a hash and shows only whether a password is set", async () => {
    const res = await api(f, "/api/sites/locked/settings", { method: "PATCH", json: { password: SITE_PASSWORD } });
    const text = await res.text();
    bodies.push(text);
    expect(res.status).toBe(200);
    expect(JSON.parse(text).settings).toMatchObject({ password: true, private_previews: false });
    expect(text).not.toContain("argon2");
    const bad = await api(f, "/api/sites/locked/settings", { method: "PATCH", json: { password_hash: "$argon2id$x" } });
    expect(bad.status).toBe(400);
    const long = await api(f, "/api/sites/locked/settings", { method: "PATCH", json: { password: "x".repeat(257) } });
    expect(long.status).toBe(400);
    const body = await makeTarGz([
      { name: "index.html", data: "<!doctype html><title>Locked</title><h1>members only</h1><a href='/two'>two</a>" },
      { name: "two.html", data: "page two" },
    ]);
    expect((await api(f, "/api/sites/locked/deploys", { method: "POST", body })).status).toBe(201);
  });

  test("every path answers the sign-in page (401, private) until signed in; a token opens it too", async () => {
    for (const path of ["/", "/two", "/missing", "/.fazt/login"]) {
      const res = await get("locked.localhost", path, { "x-forwarded-for": newClient() });
      const text = await res.text();
      expect([path, res.status]).toEqual([path, path === "/.fazt/login" ? 200 : 401]);
      expect(res.headers.get("cache-control")).toBe("private, no-store");
      expect(text).toContain('action="/.fazt/login"');
      expect(text).not.toContain("members only");
    }
    const token = await get("locked.localhost", "/two", { authorization: `Bearer ${f.token}` });
    expect([token.status, await token.text()]).toEqual([200, "page two"]);
  });

  test("sign-in over HTTP: a wrong password is a 401 page with an error, the right one a 303 with a host-only cookie", async () => {
    const ip = newClient();
    const post = (password: string, extra: Record<string, string> = {}) =>
      hostFetch(f, "locked.localhost", "/.fazt/login", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": ip, ...extra },
        body: new URLSearchParams({ password, next: "/two?x=1" }).toString(),
      });
    const wrong = await post("nope");
    const wrongText = await wrong.text();
    bodies.push(wrongText);
    expect(wrong.status).toBe(401);
    expect(wrongText).toContain("Wrong password.");
    expect(wrong.headers.get("set-cookie")).toBeNull();
    const foreign = await post(SITE_PASSWORD, { origin: "http://evil.example" });
    expect(foreign.status).toBe(403);
    const ok = await post(SITE_PASSWORD);
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/two?x=1");
    const cookie = ok.headers.get("set-cookie")!;
    expect(cookie).toMatch(/^fazt_site=\d+\.[A-Za-z0-9_-]{43}; Path=\/; Max-Age=604800; HttpOnly; SameSite=Lax$/);
    const value = cookie.split(";")[0]!;
    const page = await get("locked.localhost", "/two", { cookie: value });
    expect([page.status, await page.text()]).toEqual([200, "page two"]);
    expect(page.headers.get("cache-control")).toBe("private, no-store");
    // Signed for its host: the same cookie on a preview host of the site, or tampered with, opens nothing.
    const [expires, signature] = value.slice("fazt_site=".length).split(".");
    const forged = `fazt_site=${Number(expires) + 1000}.${signature}`;
    expect((await get("locked.localhost", "/two", { cookie: forged })).status).toBe(401);
    const oversize = await hostFetch(f, "locked.localhost", "/.fazt/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": ip },
      body: `password=${"x".repeat(20_000)}`,
    });
    expect(oversize.status).toBe(413);
  });

  test("failed sign-ins are limited per client (429)", async () => {
    const ip = newClient();
    const post = (password: string) =>
      hostFetch(f, "locked.localhost", "/.fazt/login", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": ip },
        body: new URLSearchParams({ password }).toString(),
      });
    for (let i = 0; i < 10; i++) expect((await post(`wrong ${i}`)).status).toBe(401);
    const limited = await post(SITE_PASSWORD);
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).not.toBeNull();
  });

  test("the sign-in page works in headless Chromium: an error for a wrong password, then the page and an HttpOnly cookie", async () => {
    const browser: Browser = await launchChromium();
    try {
      const context = await browser.newContext({ extraHTTPHeaders: { "x-forwarded-for": newClient() } });
      context.setDefaultTimeout(10_000);
      const page = await context.newPage();
      const url = `http://locked.localhost:${f.port}/two`;
      await page.goto(url);
      expect(await page.title()).toBe("Sign in");
      await page.getByLabel("Password").fill("not it");
      await page.getByRole("button", { name: "Sign in" }).click();
      expect(await page.getByRole("alert").textContent()).toBe("Wrong password.");
      await page.getByLabel("Password").fill(SITE_PASSWORD);
      await page.getByRole("button", { name: "Sign in" }).click();
      await page.waitForURL(url);
      expect(await page.textContent("body")).toBe("page two");
      const cookies = await context.cookies(url);
      expect(cookies.map((c) => [c.name, c.httpOnly, c.sameSite, c.domain])).toEqual([["fazt_site", true, "Lax", "locked.localhost"]]);
      await page.goto(`http://locked.localhost:${f.port}/`);
      expect(await page.textContent("h1")).toBe("members only");
      // No script may read the cookie.
      expect(await page.evaluate("document.cookie")).toBe("");
    } finally {
      await browser.close();
    }
  }, 60_000);

  test("changing the password ends the sessions signed with the old one; removing it opens the site", async () => {
    const ip = newClient();
    const login = await hostFetch(f, "locked.localhost", "/.fazt/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": ip },
      body: new URLSearchParams({ password: SITE_PASSWORD }).toString(),
    });
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    expect((await get("locked.localhost", "/two", { cookie })).status).toBe(200);
    await api(f, "/api/sites/locked/settings", { method: "PATCH", json: { password: `${SITE_PASSWORD} 2` } });
    expect((await get("locked.localhost", "/two", { cookie })).status).toBe(401);
    await api(f, "/api/sites/locked/settings", { method: "PATCH", json: { password: null } });
    const open = await get("locked.localhost", "/two");
    expect([open.status, open.headers.get("cache-control")]).toEqual([200, "public, max-age=0, must-revalidate"]);
    await api(f, "/api/sites/locked/settings", { method: "PATCH", json: { password: SITE_PASSWORD } });
  });
});

describe("private previews", () => {
  test("previews need a sign-in (a token of the site) when private_previews is on; the live site stays open", async () => {
    const body = await makeTarGz([{ name: "index.html", data: "preview of incr" }]);
    const res = await api(f, "/api/sites/incr/deploys?activate=false", { method: "POST", body });
    const { id } = (await res.json()) as { id: string };
    const host = `${id}--incr.localhost`;
    expect(await (await get(host, "/", { "x-forwarded-for": newClient() })).text()).toBe("preview of incr");
    await api(f, "/api/sites/incr/settings", { method: "PATCH", json: { private_previews: true } });
    const locked = await get(host, "/", { "x-forwarded-for": newClient() });
    expect(locked.status).toBe(401);
    expect(await locked.text()).toContain('action="/.fazt/login"');
    const login = await hostFetch(f, host, "/.fazt/login", {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-forwarded-for": newClient() },
      body: new URLSearchParams({ password: f.token! }).toString(),
    });
    expect(login.status).toBe(303);
    const cookie = login.headers.get("set-cookie")!.split(";")[0]!;
    const seen = await get(host, "/", { cookie });
    expect([seen.status, await seen.text(), seen.headers.get("cache-control")]).toEqual([200, "preview of incr", "private, no-store"]);
    // A token of another site opens nothing here.
    const other = await api(f, "/api/tokens", { method: "POST", json: { site: "app" } });
    const otherToken = ((await other.json()) as { token: string }).token;
    expect((await get(host, "/", { authorization: `Bearer ${otherToken}`, "x-forwarded-for": newClient() })).status).toBe(401);
    expect((await get(host, "/", { authorization: `Bearer ${f.token}` })).status).toBe(200);
    // The live site keeps its own rules (Basic-Auth from its deploy), not the preview's sign-in.
    const live = await get("incr.localhost", "/", { authorization: basic("dave", DAVE), "x-forwarded-for": newClient() });
    expect(live.status).toBe(200);
  });
});

describe("no password in clear", () => {
  test("not in any answer, the server's log, or the database's bytes", async () => {
    const stderr = f.stderr();
    const files = readdirSync(f.dir).filter((n) => n.startsWith("fazt.db"));
    expect(files).toContain("fazt.db");
    const db = Buffer.concat(files.map((n) => readFileSync(join(f.dir, n))));
    for (const secret of SECRETS) {
      for (const form of new Set([secret, ...secret.split(":")])) {
        if (form.length < 8) continue;
        expect(bodies.some((b) => b.includes(form))).toBe(false);
        expect(stderr.includes(form)).toBe(false);
        expect(db.includes(Buffer.from(form, "utf8"))).toBe(false);
      }
    }
    const zipped = await get("zipped.localhost", "/", { authorization: basic("erin", ERIN) });
    expect([zipped.status, await zipped.text()]).toEqual([200, "zipped home"]);
    // The check can fail: the database does hold the site's public content.
    expect(db.includes(Buffer.from("not under /private/"))).toBe(true);
  });
});
