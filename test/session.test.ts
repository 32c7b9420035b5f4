// UI sessions over real HTTP: sign-in, the cookie's attributes, CSRF and
// same-origin checks on every change, immediate revocation (sign-out,
// `fazt user passwd`, `fazt user rm`), sign-in rate limits that do not tell
// users apart, and expiry.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Store } from "../src/db/index.ts";
import { createUser } from "../src/auth/users.ts";
import { createSession, SESSION_IDLE_MS, SESSION_MAX_MS, verifySession } from "../src/auth/sessions.ts";
import { cleanup, runFazt, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";

const PASSWORD = "a long enough password";
let f: FaztProcess;

interface SignedIn {
  cookie: string;
  csrf: string;
  setCookie: string;
}

async function signIn(user: string, password = PASSWORD, headers: Record<string, string> = {}): Promise<SignedIn> {
  const res = await fetch(`${f.url}/api/session`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ username: user, password }),
  });
  expect(res.status).toBe(201);
  const setCookie = res.headers.get("set-cookie")!;
  const body = (await res.json()) as { csrf_token: string; user: string };
  expect(body.user).toBe(user);
  return { cookie: setCookie.split(";")[0]!, csrf: body.csrf_token, setCookie };
}

function call(s: SignedIn, path: string, init: { method?: string; headers?: Record<string, string>; json?: unknown } = {}) {
  return fetch(`${f.url}${path}`, {
    method: init.method ?? "GET",
    headers: { cookie: s.cookie, ...(init.json !== undefined ? { "content-type": "application/json" } : {}), ...init.headers },
    body: init.json !== undefined ? JSON.stringify(init.json) : undefined,
  });
}

const code = async (res: Response) => [res.status, ((await res.json()) as { error?: { code: string } }).error?.code ?? "ok"];

async function addUser(name: string): Promise<void> {
  const r = await runFazt(["user", "create", name, "--password-stdin", "--db", f.db], { stdin: `${PASSWORD}\n` });
  expect(r.code).toBe(0);
}

beforeAll(async () => {
  f = await startFazt();
  await Promise.all(["alice", "bob", "carol", "dave"].map(addUser));
}, 60_000);
afterAll(async () => {
  await f.stop();
  cleanup(f.dir);
});

describe("sessions", () => {
  test("sign-in sets an HttpOnly, SameSite=Strict cookie on / and the session reads the API", async () => {
    const s = await signIn("alice");
    expect(s.setCookie).toMatch(/^fazt_session=[a-z2-7]{16}\.[A-Za-z0-9_-]{43}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Strict$/);
    expect(s.setCookie).not.toContain("Secure"); // plain HTTP here
    expect((await call(s, "/api/sites")).status).toBe(200);
    const who = (await (await call(s, "/api/session")).json()) as { user: string; csrf_token: string };
    expect(who).toMatchObject({ user: "alice", csrf_token: s.csrf });
    // Without a session the who-am-I answer is empty, not an error.
    expect(await (await fetch(`${f.url}/api/session`)).json()).toEqual({ via: null, user: null });
  });

  test("a change needs the CSRF token: without it, or with another session's, 403 and nothing changes", async () => {
    const s = await signIn("alice");
    const other = await signIn("bob");
    expect(await code(await call(s, "/api/sites", { method: "POST", json: { name: "nocsrf" } }))).toEqual([403, "csrf_failed"]);
    const wrong = { "x-csrf-token": other.csrf };
    expect(await code(await call(s, "/api/sites", { method: "POST", json: { name: "nocsrf" }, headers: wrong }))).toEqual([
      403,
      "csrf_failed",
    ]);
    const short = { "x-csrf-token": s.csrf.slice(1) };
    expect(await code(await call(s, "/api/sites", { method: "POST", json: { name: "nocsrf" }, headers: short }))).toEqual([
      403,
      "csrf_failed",
    ]);
    for (const [method, path] of [
      ["PATCH", "/api/sites/x/settings"],
      ["PUT", "/api/sites/x/hsts"],
      ["DELETE", "/api/sites/x"],
    ] as const) {
      expect({ method, r: await code(await call(s, path, { method, json: {} })) }).toEqual({ method, r: [403, "csrf_failed"] });
    }
    expect((await call(s, "/api/sites/nocsrf")).status).toBe(404);
    const ok = await call(s, "/api/sites", { method: "POST", json: { name: "withcsrf" }, headers: { "x-csrf-token": s.csrf } });
    expect(ok.status).toBe(201);
  });

  test("a cookie sent from another origin is refused, reads included", async () => {
    const s = await signIn("alice");
    const host = new URL(f.url).host;
    const csrf = { "x-csrf-token": s.csrf };
    for (const origin of ["http://evil.example", `https://${host}.evil.example`, "null", `http://blog.localhost:${f.port}`]) {
      const headers = { ...csrf, origin };
      expect({ origin, r: await code(await call(s, "/api/sites", { method: "POST", json: { name: "x" }, headers })) }).toEqual({
        origin,
        r: [403, "cross_origin"],
      });
      expect((await call(s, "/api/sites", { headers: { origin } })).status).toBe(403);
    }
    for (const site of ["cross-site", "same-site"]) {
      expect((await call(s, "/api/sites", { headers: { "sec-fetch-site": site } })).status).toBe(403);
    }
    expect((await call(s, "/api/sites/withcsrf", { method: "DELETE", headers: { ...csrf, "sec-fetch-site": "none" } })).status).toBe(403);
    expect((await call(s, "/api/sites", { headers: { origin: f.url, "sec-fetch-site": "same-origin" } })).status).toBe(200);
    // Sign-in from another origin is refused too (login CSRF).
    const res = await fetch(`${f.url}/api/session`, {
      method: "POST",
      headers: { origin: "http://evil.example", "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password: PASSWORD }),
    });
    expect(res.status).toBe(403);
  });

  test("sign-out, a new password and a removed user end sessions at once", async () => {
    const a = await signIn("carol");
    const b = await signIn("carol");
    expect((await call(a, "/api/session", { method: "DELETE", headers: { "x-csrf-token": a.csrf } })).status).toBe(200);
    expect(await code(await call(a, "/api/sites"))).toEqual([401, "unauthorized"]);
    expect((await call(b, "/api/sites")).status).toBe(200);

    const passwd = await runFazt(["user", "passwd", "carol", "--password-stdin", "--db", f.db], { stdin: "another password\n" });
    expect(passwd.stdout).toContain("1 session(s) ended");
    expect((await call(b, "/api/sites")).status).toBe(401);
    const c = await signIn("carol", "another password");
    expect((await call(c, "/api/sites")).status).toBe(200);

    expect((await runFazt(["user", "rm", "carol", "--db", f.db])).code).toBe(0);
    expect((await call(c, "/api/sites")).status).toBe(401);
    const list = await runFazt(["user", "list", "--db", f.db]);
    expect(list.stdout).toContain("alice");
    expect(list.stdout).not.toContain("carol");
    expect((await runFazt(["user", "rm", "carol", "--db", f.db])).code).toBe(1);
  }, 30_000);

  test("a wrong name and a wrong password get the same answer; failures are limited per user and per client", async () => {
    const attempt = (username: string, password: string, ip = "203.0.113.1") =>
      fetch(`${f.url}/api/session`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": ip },
        body: JSON.stringify({ username, password }),
      });
    const unknown = await attempt("nobody", "wrong password");
    const wrong = await attempt("dave", "wrong password");
    expect([unknown.status, await unknown.text()]).toEqual([wrong.status, await wrong.text()]);
    expect(wrong.status).toBe(401);
    // Without --trust-proxy every request here is one client (127.0.0.1): 10 failures block it.
    for (let i = 2; i < 10; i++) expect((await attempt(`nobody${i}`, "x")).status).toBe(401);
    expect(await code(await attempt("alice", PASSWORD))).toEqual([429, "too_many_attempts"]);
  }, 30_000);

  test("bodies are bounded: a sign-in body over 4 KiB is a 413", async () => {
    const res = await fetch(`${f.url}/api/session`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username: "alice", password: "x".repeat(5000) }),
    });
    expect(await code(res)).toEqual([413, "body_too_large"]);
  });
});

describe("session expiry", () => {
  test("a session ends after its idle time and at its absolute end; each check reads the database", async () => {
    const dir = tempDir();
    const store = Store.open(join(dir, "s.db"));
    try {
      await createUser(store, "erin", PASSWORD);
      const t0 = Date.now();
      const { cookie } = createSession(store, "erin", t0);
      expect(verifySession(store, cookie, t0 + 1000)?.user).toBe("erin");
      expect(verifySession(store, cookie, t0 + SESSION_IDLE_MS + 1)).toBeNull();
      // Kept alive by use, it still ends at the absolute limit.
      let t = t0;
      while (t + SESSION_IDLE_MS / 2 < t0 + SESSION_MAX_MS) {
        t += SESSION_IDLE_MS / 2;
        expect(verifySession(store, cookie, t)?.user).toBe("erin");
      }
      expect(verifySession(store, cookie, t0 + SESSION_MAX_MS)).toBeNull();
      expect(
        verifySession(
          store,
          cookie.replace(/.$/, (c) => (c === "A" ? "B" : "A")),
          t0,
        ),
      ).toBeNull();
      expect(store.write.query("SELECT count(*) AS n FROM sessions").get()).toEqual({ n: 1 });
      expect((store.write.query("SELECT secret_hash FROM sessions").get() as { secret_hash: Uint8Array }).secret_hash.length).toBe(32);
    } finally {
      store.close();
      cleanup(dir);
    }
  });
});
