// _redirects / _headers parsing at deploy time: a malformed line fails the
// deploy with its line number and writes nothing.
import { describe, expect, test, afterAll } from "bun:test";
import { join } from "node:path";
import { Store } from "../src/db/index.ts";
import { parseHeaders, parseRedirects, RulesError } from "../src/vfs/rules.ts";
import { PatternIndex, splitPath } from "../src/serve/rules.ts";
import { HOP_BY_HOP } from "./corpus/rules/index.ts";
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
      {
        line: 4,
        from: "/s",
        query: [
          ["q", ":x"],
          ["p", "1"],
        ],
        to: "/t/:x",
        status: 302,
        force: true,
      },
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

  test("patterns: placeholders, splats, globs, trailing slashes", () => {
    const match = (pattern: string, path: string) => {
      const index = new PatternIndex();
      index.add(pattern);
      const p = splitPath(path);
      return index.lookup(p).length === 1 ? index.params(0, p) : null;
    };
    expect(match("/news/*", "/news")?.get("splat")).toBe("");
    expect(match("/news/*", "/news/a/b")?.get("splat")).toBe("a/b");
    expect(match("/p/:y/:s", "/p/2024/x/")).toEqual(
      new Map([
        ["y", "2024"],
        ["s", "x"],
      ]),
    );
    expect(match("/p/:y", "/p/a/b")).toBeNull();
    expect(match("/p/:y", "/p//")).toBeNull();
    expect(match("/a.b", "/aXb")).toBeNull();
    expect(match("/data.*", "/data.json")?.get("splat")).toBe("json");
    expect(match("/*.js", "/app.js")?.get("splat")).toBe("app");
    expect(match("/*.js", "/a/app.js")?.get("splat")).toBe("a/app"); // the last segment's * crosses slashes
    expect(match("/assets/*.css", "/assets/a/b.css")?.get("splat")).toBe("a/b");
    expect(match("/*.js", "/a/app.css")).toBeNull();
    expect(match("/x*y", "/xy")?.get("splat")).toBe("");
    expect(match("/*x/y", "/ax/y")?.get("splat")).toBe("a");
    expect(match("/*x/y", "/a/bx/y")).toBeNull(); // an earlier segment's * stays inside its segment
    expect(match("/*/*/*/y", "/a/b/c/y")).not.toBeNull();
    expect(match("/*/*/*/y", "/a/b/c/d/y")).toBeNull();
    expect(match("/", "/")).toEqual(new Map());
    expect(match("/*", "/")?.get("splat")).toBe("");
  });

  test("rules come back in file order, whatever their shape", () => {
    const index = new PatternIndex();
    for (const p of ["/a/*", "/:x/b", "/a/b", "/*", "/a/b/", "/c"]) index.add(p);
    expect(index.lookup(splitPath("/a/b"))).toEqual([0, 1, 2, 3, 4]);
    expect(index.lookup(splitPath("/c"))).toEqual([3, 5]);
  });

  test("hostile patterns are refused at deploy, with their line", () => {
    expect(lineOf(() => parseRedirects("/a /b\n/*a*a*a*b /x\n"))).toBe(2);
    expect(lineOf(() => parseRedirects("/:slug.html /x\n"))).toBe(1);
    expect(lineOf(() => parseRedirects(`${"/a /b\n".repeat(10_000)}/c /d\n`))).toBe(10_001);
    expect(lineOf(() => parseRedirects(`/${"a".repeat(3000)} /b\n`))).toBe(1);
    expect(() => parseRedirects("/a /b\n".repeat(10_001))).toThrow("rules limit (10000 per file)");
  });

  test("destinations: non-ASCII is percent-encoded, controls refused", () => {
    expect(parseRedirects("/e /€\n")[0]!.to).toBe("/%E2%82%AC");
    expect(parseRedirects("/e https://bücher.example/ä\n")[0]!.to).toBe("https://xn--bcher-kva.example/%C3%A4");
    expect(lineOf(() => parseRedirects("/e /a\u0001b\n"))).toBe(1);
  });
});

describe("_headers syntax", () => {
  test("paths with indented headers", () => {
    expect(parseHeaders("/*\n  X-A: 1\n  X-B: two: words\n# c\n/x\n\tX-C: 3\n")).toEqual([
      {
        line: 1,
        path: "/*",
        headers: [
          ["x-a", "1"],
          ["x-b", "two: words"],
        ],
      },
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

  test("values every client reads alike; no hop-by-hop or framing headers; cookies stay on the site's hosts", () => {
    for (const name of HOP_BY_HOP) {
      expect(lineOf(() => parseHeaders(`/a\n  ${name}: x\n`))).toBe(2);
    }
    for (const value of ["€", "😀", "a\u0000b", "a\u007fb"]) expect(lineOf(() => parseHeaders(`/a\n  X-A: ${value}\n`))).toBe(2);
    expect(parseHeaders("/a\n  X-A: café\n")[0]!.headers).toEqual([["x-a", "café"]]); // Latin-1 (obs-text) is readable
    const hosts = ["blog.example.com", "www.blog.io"];
    expect(lineOf(() => parseHeaders("/a\n  Set-Cookie: s=1; Domain=example.com\n", hosts))).toBe(2);
    expect(lineOf(() => parseHeaders("/a\n  Set-Cookie: s=1; Path=/; domain=.blog.io\n", hosts))).toBe(2);
    expect(lineOf(() => parseHeaders("/a\n  Set-Cookie: s=1; Domain=blog.example.com\n"))).toBe(2); // no hosts known: none allowed
    expect(parseHeaders("/a\n  Set-Cookie: s=1; Domain=.Blog.Example.com\n  Set-Cookie: t=2\n", hosts)[0]!.headers).toEqual([
      ["set-cookie", "s=1; Domain=.Blog.Example.com"],
      ["set-cookie", "t=2"],
    ]);
  });
});

describe("at deploy time", () => {
  test("a bad rules file fails the deploy with its line; the live deploy stays", () => {
    const db = join(dir, "deploy.db");
    const good = seedDeploy(db, "blog", { "/index.html": "v1", "/_redirects": "/a /b\n" });
    expect(() => seedDeploy(db, "blog", { "/index.html": "v2", "/_redirects": "/a /b\n/c\n" })).toThrow(
      "_redirects line 2: missing destination",
    );
    expect(() => seedDeploy(db, "blog", { "/index.html": "v2", "/_headers": "/x\n  nope\n" })).toThrow("_headers line 2");
    const store = Store.open(db);
    expect(store.write.query("SELECT count(*) AS n FROM deploys").get()).toEqual({ n: 1 });
    expect(store.write.query("SELECT live_deploy_id AS id FROM sites").get()).toEqual({ id: good.id });
    const config = JSON.parse((store.write.query("SELECT config FROM deploys").get() as { config: string }).config);
    expect(config.redirects).toEqual([{ line: 1, from: "/a", query: [], to: "/b", status: 301, force: false }]);
    store.close();
  });
});
