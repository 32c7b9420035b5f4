// The access log: off by default; with --access-log one JSON line per request
// on stderr, written in batches; the buffer is bounded by bytes (drops counted);
// FAZT_LOG_LEVEL=debug says what deploys and GC do.
import { afterAll, describe, expect, test } from "bun:test";
import { AccessLog } from "../src/log/access.ts";
import { api, cleanup, hostFetch, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";
import { deploySite, siteFiles } from "./helpers/ops.ts";
import { waitFor } from "./helpers/wait.ts";

interface AccessLine {
  time: string;
  host: string;
  method: string;
  path: string;
  status: number;
  bytes: number;
  duration_ms: number;
  client: string;
}

function accessLines(stderr: string): AccessLine[] {
  return stderr
    .split("\n")
    .filter((l) => l.startsWith('{"time"'))
    .map((l) => JSON.parse(l) as AccessLine);
}

describe("access log buffer", () => {
  test("records are held until a flush writes them as one batch; past the byte bound they are dropped and counted", () => {
    const writes: string[] = [];
    const log = new AccessLog({ maxBytes: 2000, flushMs: 60_000, write: (t) => (writes.push(t), true) });
    const rec = (path: string) => ({
      time: 0,
      host: "a.localhost",
      method: "GET",
      path,
      status: 200,
      bytes: 5,
      duration: 0.25,
      client: "::1",
    });
    for (let i = 0; i < 100; i++) log.record(rec(`/p${i}`));
    expect(writes).toEqual([]); // nothing written on the request path
    const kept = 100 - log.dropped;
    expect(log.dropped).toBeGreaterThan(80);
    expect(log.bufferedBytes).toBeLessThanOrEqual(2000);
    log.record(rec("/x".repeat(5000))); // one huge record does not fit either
    expect(log.dropped).toBe(101 - kept);
    log.flush();
    expect(writes.length).toBe(1);
    expect(
      writes[0]!
        .trimEnd()
        .split("\n")
        .map((l) => JSON.parse(l).path),
    ).toEqual(Array.from({ length: kept }, (_, i) => `/p${i}`));
    log.stop();
  });

  test("a sink that wants to wait gets nothing more until it drains; meanwhile records stay bounded", () => {
    const writes: string[] = [];
    let drain: (() => void) | null = null;
    const log = new AccessLog({ maxBytes: 4000, flushMs: 60_000, write: (t) => (writes.push(t), false), onDrain: (fn) => (drain = fn) });
    const rec = { time: 0, host: "h", method: "GET", path: "/", status: 200, bytes: 0, duration: 0, client: "c" };
    log.record(rec);
    log.flush();
    for (let i = 0; i < 1000; i++) log.record(rec);
    log.flush();
    expect(writes.length).toBe(1);
    expect(log.dropped).toBeGreaterThan(900);
    drain!();
    log.flush();
    expect(writes.length).toBe(2);
    log.stop();
  });

  test("hostile fields are cut and escaped: one line per record, always valid JSON", () => {
    const writes: string[] = [];
    const log = new AccessLog({ flushMs: 60_000, write: (t) => (writes.push(t), true) });
    log.record({
      time: 0,
      host: 'e"vil\nhost',
      method: "GET",
      path: `/\u0000\u2028${"a".repeat(10_000)}`,
      status: 404,
      bytes: 0,
      duration: 1,
      client: "x",
    });
    log.flush();
    const lines = writes.join("").trimEnd().split("\n");
    expect(lines.length).toBe(1);
    const line = JSON.parse(lines[0]!);
    expect(line.host).toBe('e"vil\nhost');
    expect(line.path.length).toBeLessThan(2100);
    log.stop();
  });
});

describe("access log and debug level on a running server", () => {
  const started: FaztProcess[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const f of started) await f.stop();
    for (const d of dirs) cleanup(d);
  });
  const start = async (args: string[], env: Record<string, string> = {}) => {
    const dir = tempDir("fazt-access-");
    dirs.push(dir);
    const f = await startFazt({ dir, args, env });
    started.push(f);
    return f;
  };

  test("--access-log: one JSON line per request with time, host, method, path, status, bytes, duration and client", async () => {
    const f = await start(["--access-log"]);
    await deploySite(f, "blog", siteFiles("blog", 1000));
    const identity = { headers: { "accept-encoding": "identity" } };
    const index = await hostFetch(f, "blog.localhost", "/index.html?utm=1", identity);
    const indexBytes = (await index.arrayBuffer()).byteLength;
    await (await hostFetch(f, "blog.localhost", "/missing")).arrayBuffer();
    await (await hostFetch(f, "blog.localhost", "/index.html", { method: "HEAD" })).arrayBuffer();
    await (await hostFetch(f, "stranger.example", "/")).arrayBuffer();
    await (await api(f, "/api/sites", { token: null })).arrayBuffer();
    const lines = await waitFor(
      () => {
        const l = accessLines(f.stderr());
        return l.some((x) => x.host === "stranger.example") && l.some((x) => x.status === 401) ? l : null;
      },
      { what: "the access lines of the stranger's 404 and the 401", timeoutMs: 10_000 },
    );
    const site = lines.filter((l) => l.host === "blog.localhost");
    const get = site.find((l) => l.path === "/index.html?utm=1")!;
    expect(get).toMatchObject({ method: "GET", status: 200, bytes: indexBytes, client: "127.0.0.1" });
    expect(Date.parse(get.time)).toBeGreaterThan(Date.now() - 60_000);
    expect(get.duration_ms).toBeGreaterThanOrEqual(0);
    expect(site.find((l) => l.path === "/missing")!.status).toBe(404);
    expect(site.find((l) => l.method === "HEAD")).toMatchObject({ status: 200, bytes: 0 });
    expect(lines.find((l) => l.host === "stranger.example")!.status).toBe(404);
    expect(lines.find((l) => l.path === "/api/sites" && l.method === "GET")!.status).toBe(401);
  });

  test("off by default; FAZT_LOG_LEVEL=debug reports deploy phases and GC runs", async () => {
    const f = await start([], { FAZT_LOG_LEVEL: "debug" });
    await deploySite(f, "docs", siteFiles("docs", 1000));
    await deploySite(f, "docs", siteFiles("docs2", 1000)); // leaves garbage for GC
    await (await hostFetch(f, "docs.localhost", "/")).arrayBuffer();
    const messages = await waitFor(
      () => {
        const m = f
          .stderr()
          .split("\n")
          .filter((l) => l.startsWith("{"))
          .map((l) => JSON.parse(l) as { level?: string; msg?: string });
        const texts = m.filter((x) => x.level === "debug").map((x) => x.msg);
        return texts.includes("deploy: committed") && texts.includes("gc run started") ? m : null;
      },
      { what: "the debug lines of a deploy commit and a GC run", timeoutMs: 10_000 },
    );
    const debug = messages.filter((x) => x.level === "debug").map((x) => x.msg);
    expect(debug).toContain("deploy: receiving");
    expect(debug).toContain("deploy: content stored, committing");
    expect(accessLines(f.stderr())).toEqual([]);
  });

  test("the first admin token is a log record and a plain line saying where to keep it", async () => {
    const f = await start([]);
    const record = f
      .stderr()
      .split("\n")
      .find((l) => l.includes("created the first admin token"))!;
    // The record names the token by id only: logs are kept and shipped, the secret is not for them.
    expect(JSON.parse(record)).toMatchObject({ level: "info", token_id: f.token!.slice(4, 16) });
    expect(record).not.toContain(f.token!.slice(17));
    expect(f.stderr()).toContain(`  ${f.token}\n`);
    expect(f.stderr()).toContain("Keep it in a password manager");
  });
});
