// Site settings as serving applies them (docs/SERVING.md): trailing_slash,
// not_found and default headers, changed through the API on a running server
// and applied to the next request (no restart; cached answers are dropped).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, cleanup, hostFetch, startFazt, type FaztProcess } from "./helpers/fazt.ts";
import { makeTarGz } from "./helpers/archives.ts";

let f: FaztProcess;
beforeAll(async () => {
  f = await startFazt();
  await api(f, "/api/sites", { method: "POST", json: { name: "app" } });
  const body = await makeTarGz([
    { name: "index.html", data: "home" },
    { name: "about.html", data: "about" },
    { name: "docs/index.html", data: "docs" },
    { name: "docs/404.html", data: "docs missing" },
    { name: "errors/gone.html", data: "custom missing" },
    { name: "logo.svg", data: "<svg/>" },
    { name: "_headers", data: "/about\n  X-Frame-Options: SAMEORIGIN\n" },
  ]);
  expect((await api(f, "/api/sites/app/deploys", { method: "POST", body })).status).toBe(201);
});
afterAll(async () => {
  await f.stop();
  cleanup(f.dir);
});

const patch = async (json: unknown) => expect((await api(f, "/api/sites/app/settings", { method: "PATCH", json })).status).toBe(200);
const get = (path: string) => hostFetch(f, "app.localhost", path, { redirect: "manual" });

async function answer(path: string): Promise<[number, string]> {
  const res = await get(path);
  return [res.status, res.status >= 300 && res.status < 400 ? `-> ${res.headers.get("location")}` : await res.text()];
}

describe("trailing_slash", () => {
  test("auto: directories get a slash, clean URLs none", async () => {
    await patch({ trailing_slash: "auto" });
    expect(await answer("/about")).toEqual([200, "about"]);
    expect(await answer("/about/")).toEqual([404, "<!doctype html><title>404 Not Found</title><h1>404 Not Found</h1>\n"]);
    expect(await answer("/docs?x=1")).toEqual([301, "-> /docs/?x=1"]);
    expect(await answer("/docs/")).toEqual([200, "docs"]);
  });

  test("always: /about and /docs redirect to their slash form (query kept), which serves them; files keep their names", async () => {
    await get("/about"); // cached under auto: must not survive the change
    await patch({ trailing_slash: "always" });
    expect(await answer("/about?a=1&b=2")).toEqual([301, "-> /about/?a=1&b=2"]);
    expect(await answer("/about/")).toEqual([200, "about"]);
    expect(await answer("/docs")).toEqual([301, "-> /docs/"]);
    expect(await answer("/docs/")).toEqual([200, "docs"]);
    expect(await answer("/about.html")).toEqual([200, "about"]);
    expect(await answer("/logo.svg")).toEqual([200, "<svg/>"]);
    expect(await answer("/")).toEqual([200, "home"]);
  });

  test("never: /docs/ and /about/ redirect to the bare form (query kept), which serves them; / stays", async () => {
    await patch({ trailing_slash: "never" });
    expect(await answer("/docs/?q=%20x")).toEqual([301, "-> /docs?q=%20x"]);
    expect(await answer("/docs")).toEqual([200, "docs"]);
    expect(await answer("/about/")).toEqual([301, "-> /about"]);
    expect(await answer("/about")).toEqual([200, "about"]);
    expect(await answer("/")).toEqual([200, "home"]);
    expect((await answer("/nothing/"))[0]).toBe(404);
    await patch({ trailing_slash: "auto" });
    expect(await answer("/docs")).toEqual([301, "-> /docs/"]);
  });
});

describe("not_found", () => {
  test("names the 404 page instead of the nearest 404.html; a missing page falls back to it", async () => {
    expect(await answer("/docs/nope")).toEqual([404, "docs missing"]);
    await patch({ not_found: "/errors/gone.html" });
    expect(await answer("/docs/nope")).toEqual([404, "custom missing"]);
    expect(await answer("/x/y/z")).toEqual([404, "custom missing"]);
    await patch({ not_found: "/errors/absent.html" });
    expect(await answer("/docs/nope")).toEqual([404, "docs missing"]);
    await patch({ not_found: null });
    expect(await answer("/docs/nope")).toEqual([404, "docs missing"]);
  });
});

describe("headers", () => {
  test("are added to every answer of the site; _headers lines override them", async () => {
    await patch({ headers: { "X-Frame-Options": "DENY", "X-Robots-Tag": "noindex" } });
    const page = await get("/");
    expect(page.headers.get("x-frame-options")).toBe("DENY");
    expect(page.headers.get("x-robots-tag")).toBe("noindex");
    const etag = page.headers.get("etag")!;
    const revalidated = await hostFetch(f, "app.localhost", "/", { headers: { "if-none-match": etag } });
    expect(revalidated.status).toBe(304);
    expect(revalidated.headers.get("x-robots-tag")).toBe("noindex");
    const about = await get("/about");
    expect(about.headers.get("x-frame-options")).toBe("SAMEORIGIN");
    expect(about.headers.get("x-robots-tag")).toBe("noindex");
    for (const path of ["/docs", "/missing", "/%zz", "/docs/nope"]) {
      const res = await get(path);
      expect([path, res.headers.get("x-robots-tag")]).toEqual([path, "noindex"]);
    }
    const post = await hostFetch(f, "app.localhost", "/", { method: "PUT" });
    expect([post.status, post.headers.get("x-robots-tag")]).toEqual([405, "noindex"]);
    await patch({ headers: {} });
    expect((await get("/")).headers.get("x-robots-tag")).toBeNull();
    expect((await get("/missing")).headers.get("x-robots-tag")).toBeNull();
  });
});
