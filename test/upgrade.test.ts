// fazt upgrade --check against a local HTTP server that answers in the shape of
// GitHub's "latest release" endpoint (our own release feed, not a paid service).
import { afterAll, expect, test } from "bun:test";
import { runFazt } from "./helpers/fazt.ts";
import { compareVersions } from "../src/cli/upgrade.ts";

let latest: unknown = {};
const feed = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch: (req) => (new URL(req.url).pathname === "/releases/latest" ? Response.json(latest) : new Response("no", { status: 404 })),
});
afterAll(() => feed.stop(true));
const url = `http://127.0.0.1:${feed.port}/releases/latest`;
const VERSION: string = (await Bun.file(new URL("../package.json", import.meta.url)).json()).version;

test("a newer release is named with its page; exit 0", async () => {
  latest = { tag_name: "v999.0.0", html_url: "https://example.com/releases/v999.0.0" };
  const r = await runFazt(["upgrade", "--check", "--releases-url", url]);
  expect(r.stdout).toBe(`fazt 999.0.0 is available (this is ${VERSION}): https://example.com/releases/v999.0.0\n`);
  expect(r.code).toBe(0);
});

test("the same or an older release: up to date (the URL also comes from FAZT_RELEASES_URL)", async () => {
  for (const tag of [`v${VERSION}`, "v0.0.1", `${VERSION}-rc.1`]) {
    latest = { tag_name: tag };
    const r = await runFazt(["upgrade", "--check"], { env: { FAZT_RELEASES_URL: url } });
    expect(r.stdout).toBe(`fazt ${VERSION} is up to date (newest release: ${tag.replace(/^v/, "")})\n`);
    expect(r.code).toBe(0);
  }
});

test("unreachable, not found or not a release: says so, exit 1", async () => {
  const closed = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const closedUrl = `http://127.0.0.1:${closed.port}/releases/latest`;
  closed.stop(true);
  latest = { name: "no tag" };
  for (const [u, msg] of [
    [closedUrl, "could not reach"],
    [url.replace("latest", "missing"), "HTTP 404"],
    [url, "did not answer with a release"],
  ] as const) {
    const r = await runFazt(["upgrade", "--check", "--releases-url", u]);
    expect(r.stderr).toContain(msg);
    expect(r.code).toBe(1);
  }
});

test("without --check it refuses (exit 2): fazt never replaces itself", async () => {
  const r = await runFazt(["upgrade", "--releases-url", url]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("fazt upgrade --check");
});

test("version order: numeric parts, a pre-release before its release", () => {
  expect(compareVersions("0.10.0", "0.9.9")).toBeGreaterThan(0);
  expect(compareVersions("v1.2.3", "1.2.3")).toBe(0);
  expect(compareVersions("1.2.3-rc.1", "1.2.3")).toBeLessThan(0);
  expect(() => compareVersions("latest", "1.0.0")).toThrow("cannot compare");
});
