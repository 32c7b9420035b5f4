// Every API route is either public by name or refuses a caller without a valid
// credential before it reads one byte of the body: the request bodies here
// never end, so a route that read first would hang instead of answering.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { Store } from "../src/db/index.ts";
import { App } from "../src/server/app.ts";
import { defaultConfig } from "../src/core/config.ts";
import { apiRoutes } from "../src/api/index.ts";
import type { Route } from "../src/api/route.ts";
import { api, cleanup, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";

/** The only routes anyone may call without a credential. */
const PUBLIC = new Set(["GET /api/health", "GET /api/session", "POST /api/session", "POST /api/hooks/email"]);

function listRoutes(): Route[] {
  const dir = tempDir();
  const store = Store.open(join(dir, "routes.db"));
  const app = new App(store, defaultConfig());
  const routes = apiRoutes(app);
  store.close();
  cleanup(dir);
  return routes;
}

/** A concrete URL path for a route pattern, naming site `target`. */
function concrete(path: string, site: string): string {
  return path
    .replace(":site", site)
    .replace(/:[a-z]+/g, "x1")
    .replace("*", "a.txt");
}

/** A body that sends one chunk and then never ends. */
function endlessBody(): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(c) {
      c.enqueue(new TextEncoder().encode('{"name":"'));
    },
  });
}

async function callWithin(f: FaztProcess, route: Route, site: string, token: string | null): Promise<number> {
  const withBody = route.method !== "GET";
  try {
    const res = await api(f, concrete(route.path, site), {
      method: route.method,
      token,
      body: withBody ? endlessBody() : undefined,
      signal: AbortSignal.timeout(3000),
      duplex: "half",
    });
    await res.arrayBuffer();
    return res.status;
  } catch (err) {
    throw new Error(`${route.method} ${route.path}: no answer within 3 s (${(err as Error).message})`);
  }
}

const routes = listRoutes();
let f: FaztProcess;
let siteToken: string;

beforeAll(async () => {
  f = await startFazt();
  for (const name of ["mine", "theirs"]) await api(f, "/api/sites", { method: "POST", json: { name } });
  siteToken = ((await (await api(f, "/api/sites/mine/tokens", { method: "POST" })).json()) as { token: string }).token;
});
afterAll(async () => {
  await f.stop();
  cleanup(f.dir);
});

describe("route guards", () => {
  test("the API has routes of every access kind, and only the named ones are public", () => {
    const kinds = new Set(routes.map((r) => r.access));
    expect([...kinds].sort()).toEqual(["admin", "member", "public", "site"]);
    const publicOnes = routes.filter((r) => r.access === "public").map((r) => `${r.method} ${r.path}`);
    expect(publicOnes.filter((r) => !PUBLIC.has(r))).toEqual([]);
  });

  test("without a token every non-public route answers 401 (429 once failures pile up) before reading its body", async () => {
    const statuses = [];
    for (const route of routes.filter((r) => r.access !== "public")) {
      const status = await callWithin(f, route, "mine", null);
      expect({ route: `${route.method} ${route.path}`, refused: status === 401 || status === 429 }).toEqual({
        route: `${route.method} ${route.path}`,
        refused: true,
      });
      statuses.push(status);
    }
    expect(statuses.slice(0, 20).every((s) => s === 401)).toBe(true);
  });

  test("a site token gets 403 on admin routes and on other sites' routes, before the body", async () => {
    const refused = routes.filter((r) => r.access === "admin" || r.access === "site");
    for (const route of refused) {
      const status = await callWithin(f, route, "theirs", siteToken);
      expect({ route: `${route.method} ${route.path}`, status }).toEqual({ route: `${route.method} ${route.path}`, status: 403 });
    }
  });

  test("JSON bodies are capped: a declared or streamed body over the cap is a 413 naming it", async () => {
    const big = JSON.stringify({ name: "x".repeat(100 * 1024) });
    const declared = await api(f, "/api/sites", { method: "POST", body: big, headers: { "content-type": "application/json" } });
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as { error: { code: string } }).error.code).toBe("body_too_large");
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 100; i++) c.enqueue(new Uint8Array(4096).fill(32));
        c.close();
      },
    });
    const streamed = await api(f, "/api/sites", { method: "POST", body: chunks, duplex: "half" });
    expect(streamed.status).toBe(413);
    expect((await api(f, "/api/health")).status).toBe(200);
  });
});

describe("memory is bounded before authentication", () => {
  /** A body of `mb` MiB of JSON-ish bytes, produced as the server reads it. */
  function bigBody(mb: number): ReadableStream<Uint8Array> {
    const chunk = new Uint8Array(1024 * 1024).fill(0x61);
    let sent = 0;
    return new ReadableStream({
      pull(c) {
        if (sent++ < mb) c.enqueue(chunk);
        else c.close();
      },
    });
  }

  const rssMiB = () => {
    const status = require("node:fs").readFileSync(`/proc/${f.proc.pid}/status`, "utf8") as string;
    return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
  };

  test("four 200 MiB bodies without a token, and one with a token, leave RSS where it was", async () => {
    const before = rssMiB();
    const post = (token: string | null) =>
      api(f, "/api/sites", { method: "POST", token, body: bigBody(200), duplex: "half" } as RequestInit & { token: string | null })
        .then((r) => r.status)
        .catch(() => "reset");
    const statuses = await Promise.all([post(null), post(null), post(null), post("fzt_not_a_real_token"), post(f.token)]);
    // Refused before the body (401/429), or the connection closed while the client was still sending.
    for (const s of statuses.slice(0, 4)) expect([401, 429, "reset"]).toContain(s);
    expect([413, "reset"]).toContain(statuses[4]!);
    expect((await api(f, "/api/health")).status).toBe(200);
    expect(rssMiB() - before).toBeLessThan(64);
  });
});
