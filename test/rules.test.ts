// _redirects / _headers parsing at deploy time: a malformed line fails the
// deploy with its line number and writes nothing.
import { describe, expect, test, afterAll } from "bun:test";
import { join } from "node:path";
import { Store } from "../src/db/index.ts";
import { parseHeaders, parseRedirects, RulesError, PathPattern } from "../src/serve/rules.ts";
import { seedDeploy } from "./helpers/sites.ts";
import { tempDir, cleanup } from "./helpers/fazt.ts";

const dir = tempDir();
afterAll(() => cleanup(dir));

function lineOf(fn: () => unknown): number {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RulesError);
    expect((err as RulesError).status).toBe(400);
    return (err as RulesError).line;
  }
  throw new Error("expected a RulesError");
}

describe("_redirects syntax", () => {
  test("fields: from, query conditions, to, status with optional !", () => {
    const rules = parseRedirects("# c\n\n/a /b\n/s q=:x p=1 /t/:x 302!\n/u https://e.com/v 308\n");
    expect(rules).toEqual([
      { line: 3, from: "/a", query: [], to: "/b", status: 301, force: false },
      { line: 4, from: "/s", query: [["q", ":x"], ["p", "1"]], to: "/t/:x", status: 302, force: true },
      { line: 5, from: "/u", query: [], to: "https://e.com/v", status: 308, force: false },
    ]);
  });

  test("malformed lines name their line", () => {
    expect(lineOf(() => parseRedirects("/a /b\n\n/c /d 999\n"))).toBe(3);
    expect(lineOf(() => parseRedirects("/a\n"))).toBe(1);
    expect(lineOf(() => parseRedirects("/a /b\nnot-a-path /x\n"))).toBe(2);
    expect(lineOf(() => parseRedirects("/a /b 301 Country=us\n"))).toBe(1);
    expect(lineOf(() => parseRedirects("/a https://x.com/ 200\n"))).toBe(1);
    expect(lineOf(() => parseRedirects("/a /b 30x\n"))).toBe(1);
  });

  test("patterns: placeholders, splats, trailing slashes", () => {
    expect(new PathPattern("/news/*").match("/news")?.get("splat")).toBe("");
    expect(new PathPattern("/news/*").match("/news/a/b")?.get("splat")).toBe("a/b");
    expect(new PathPattern("/p/:y/:s").match("/p/2024/x/")).toEqual(new Map([["y", "2024"], ["s", "x"]]));
    expect(new PathPattern("/p/:y").match("/p/a/b")).toBeNull();
    expect(new PathPattern("/a.b").match("/aXb")).toBeNull();
  });
});

describe("_headers syntax", () => {
  test("paths with indented headers", () => {
    expect(parseHeaders("/*\n  X-A: 1\n  X-B: two: words\n# c\n/x\n\tX-C: 3\n")).toEqual([
      { line: 1, path: "/*", headers: [["x-a", "1"], ["x-b", "two: words"]] },
      { line: 5, path: "/x", headers: [["x-c", "3"]] },
    ]);
  });

  test("malformed lines name their line", () => {
    expect(lineOf(() => parseHeaders("  X-A: 1\n"))).toBe(1);
    expect(lineOf(() => parseHeaders("/a\n  no colon here\n"))).toBe(2);
    expect(lineOf(() => parseHeaders("/a\n  Bad Name: 1\n"))).toBe(2);
    expect(lineOf(() => parseHeaders("/a\n  X: 1\nnot-a-path\n"))).toBe(3);
    expect(lineOf(() => parseHeaders("/a\n  Content-Length: 5\n"))).toBe(2);
    expect(lineOf(() => parseHeaders("/a\n/b\n  X: 1\n"))).toBe(1);
  });
});

describe("at deploy time", () => {
  test("a bad rules file fails the deploy with its line; the live deploy stays", () => {
    const db = join(dir, "deploy.db");
    const good = seedDeploy(db, "blog", { "/index.html": "v1", "/_redirects": "/a /b\n" });
    expect(() => seedDeploy(db, "blog", { "/index.html": "v2", "/_redirects": "/a /b\n/c\n" })).toThrow("_redirects line 2: missing destination");
    expect(() => seedDeploy(db, "blog", { "/index.html": "v2", "/_headers": "/x\n  nope\n" })).toThrow("_headers line 2");
    const store = Store.open(db);
    expect(store.write.query("SELECT count(*) AS n FROM deploys").get()).toEqual({ n: 1 });
    expect(store.write.query("SELECT live_deploy_id AS id FROM sites").get()).toEqual({ id: good.id });
    const config = JSON.parse((store.write.query("SELECT config FROM deploys").get() as { config: string }).config);
    expect(config.redirects).toEqual([{ line: 1, from: "/a", query: [], to: "/b", status: 301, force: false }]);
    store.close();
  });
});
