// Sites and custom domains through the API: name rules, hostname checks,
// punycode, uniqueness, scoping of deploy tokens, the failed-auth rate limit.
import { describe, expect, test, beforeAll, afterAll } from "bun:test";
import { startFazt, api, hostFetch, cleanup, type FaztProcess } from "./helpers/fazt.ts";
import { makeTarGz } from "./helpers/archives.ts";
import { normalizeDomain, validateSiteName } from "../src/sites/index.ts";

let f: FaztProcess;
beforeAll(async () => {
  f = await startFazt();
});
afterAll(async () => {
  await f.stop();
  cleanup(f.dir);
});

async function error(res: Response): Promise<[number, string]> {
  return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
}

describe("site names and domains", () => {
  test("names are lower-case DNS labels, not reserved, unique", async () => {
    for (const bad of ["Blog", "-blog", "blog-", "a--b", "a.b", "", "x".repeat(64), "blog!", "admin"]) {
      const [status] = await error(await api(f, "/api/sites", { method: "POST", json: { name: bad } }));
      expect({ bad, status }).toEqual({ bad, status: 400 });
    }
    expect((await api(f, "/api/sites", { method: "POST", json: { name: "a1-b2" } })).status).toBe(201);
    expect(await error(await api(f, "/api/sites", { method: "POST", json: { name: "a1-b2" } }))).toEqual([409, "site_exists"]);
    expect(await error(await api(f, "/api/sites", { method: "POST", json: {} }))).toEqual([400, "bad_request"]);
    expect(validateSiteName("x".repeat(63))).toBe("x".repeat(63));
  });

  test("domains: validated, IDN to punycode, unique across sites, served, removable", async () => {
    const r = await api(f, "/api/sites", { method: "POST", json: { name: "shop", domains: ["Shop.Example.COM.", "bücher.example"] } });
    expect(r.status).toBe(201);
    expect(((await r.json()) as { domains: string[] }).domains).toEqual(["shop.example.com", "xn--bcher-kva.example"]);
    await api(f, "/api/sites/shop/deploys", { method: "POST", body: await makeTarGz([{ name: "index.html", data: "shop" }]) });
    expect(await (await hostFetch(f, "shop.example.com")).text()).toBe("shop");
    expect(await (await hostFetch(f, "xn--bcher-kva.example")).text()).toBe("shop");

    expect((await api(f, "/api/sites", { method: "POST", json: { name: "rival" } })).status).toBe(201);
    expect(await error(await api(f, "/api/sites/rival/domains", { method: "POST", json: { domain: "SHOP.example.com" } }))).toEqual([
      409,
      "domain_taken",
    ]);
    expect(await error(await api(f, "/api/sites", { method: "POST", json: { name: "rival2", domains: ["bücher.example"] } }))).toEqual([
      409,
      "domain_taken",
    ]);
    expect((await api(f, "/api/sites/rival2")).status).toBe(404); // nothing half-created
    for (const bad of [
      "no_underscores.example",
      "localhost",
      "a.localhost",
      "1.2.3.4",
      "[::1]",
      "ex ample.com",
      "example.com:8080",
      "http://x.com/",
      "a..b.com",
      `${"x".repeat(64)}.com`,
    ]) {
      const [status] = await error(await api(f, "/api/sites/rival/domains", { method: "POST", json: { domain: bad } }));
      expect({ bad, status }).toEqual({ bad, status: 400 });
    }
    expect((await api(f, "/api/sites/rival/domains", { method: "POST", json: { domain: "rival.example.org" } })).status).toBe(201);
    expect((await api(f, "/api/sites/shop/domains/shop.example.com", { method: "DELETE" })).status).toBe(200);
    expect((await hostFetch(f, "shop.example.com")).status).toBe(404);
    expect(await error(await api(f, "/api/sites/shop/domains/shop.example.com", { method: "DELETE" }))).toEqual([404, "domain_not_found"]);
    const shop = (await (await api(f, "/api/sites/shop")).json()) as { domains: string[]; live_deploy: string | null };
    expect(shop.domains).toEqual(["xn--bcher-kva.example"]);
    expect(shop.live_deploy).toMatch(/^[a-z2-7]{10}$/);
  });

  test("names under the base domain are Fazt's own", () => {
    expect(() => normalizeDomain("blog.example.com", "example.com")).toThrow("base domain");
    expect(() => normalizeDomain("example.com", "example.com")).toThrow("base domain");
    expect(normalizeDomain("example.org", "example.com")).toBe("example.org");
  });

  test("a deploy token sees and acts on its own site only", async () => {
    const token = ((await (await api(f, "/api/sites/rival/tokens", { method: "POST" })).json()) as { token: string }).token;
    const list = (await (await api(f, "/api/sites", { token })).json()) as { sites: { name: string }[] };
    expect(list.sites.map((s) => s.name)).toEqual(["rival"]);
    expect(await error(await api(f, "/api/sites/shop", { token }))).toEqual([403, "forbidden"]);
    expect(await error(await api(f, "/api/sites", { method: "POST", json: { name: "mine" }, token }))).toEqual([403, "forbidden"]);
    expect(await error(await api(f, "/api/sites/rival", { method: "DELETE", token }))).toEqual([403, "forbidden"]);
    expect(await error(await api(f, "/api/sites/shop/deploys", { token }))).toEqual([403, "forbidden"]);
  });

  test("repeated failed authentication from one address is refused for a while (429)", async () => {
    const g = await startFazt();
    try {
      for (let i = 0; i < 20; i++) expect((await api(g, "/api/sites", { token: `fzt_aaaaaaaaaaaa_${"x".repeat(43)}` })).status).toBe(401);
      expect(await error(await api(g, "/api/sites", { token: null }))).toEqual([429, "too_many_failures"]);
      expect(await error(await api(g, "/api/sites", { token: "fzt_wrong" }))).toEqual([429, "too_many_failures"]);
      expect((await api(g, "/api/sites")).status).toBe(200); // a valid token is never refused for failures
    } finally {
      await g.stop();
      cleanup(g.dir);
    }
  });
});

describe("domains are the operator's", () => {
  test("a site token cannot add or remove domains; public suffixes are refused; domains per site are capped", async () => {
    expect((await api(f, "/api/sites", { method: "POST", json: { name: "claims" } })).status).toBe(201);
    const token = ((await (await api(f, "/api/sites/claims/tokens", { method: "POST" })).json()) as { token: string }).token;
    for (const domain of ["www.victim-corp.com", "unclaimed.example.net"]) {
      expect(await error(await api(f, "/api/sites/claims/domains", { method: "POST", json: { domain }, token }))).toEqual([
        403,
        "forbidden",
      ]);
    }
    expect(await error(await api(f, "/api/sites/claims/domains/x.example.net", { method: "DELETE", token }))).toEqual([403, "forbidden"]);
    for (const domain of ["co.uk", "CO.UK.", "github.io", "s3.amazonaws.com", "net.ua", "com.br", "pvt.k12.ma.us", "blogspot.com"]) {
      expect({ domain, r: await error(await api(f, "/api/sites/claims/domains", { method: "POST", json: { domain } })) }).toEqual({
        domain,
        r: [400, "public_suffix"],
      });
    }
    for (const domain of ["com", "рф"]) {
      expect((await api(f, "/api/sites/claims/domains", { method: "POST", json: { domain } })).status).toBe(400);
    }
    for (const domain of ["me.github.io", "shop.co.uk", "xn--d1acufc.xn--p1ai"]) {
      expect((await api(f, "/api/sites/claims/domains", { method: "POST", json: { domain } })).status).toBe(201);
    }
    expect(await error(await api(f, "/api/sites", { method: "POST", json: { name: "psl", domains: ["gov.uk"] } }))).toEqual([
      400,
      "public_suffix",
    ]);
    expect(await error(await api(f, "/api/sites/claims/domains/%25", { method: "DELETE" }))).toEqual([400, "invalid_domain"]);
    for (let i = 3; i < 100; i++) {
      expect((await api(f, "/api/sites/claims/domains", { method: "POST", json: { domain: `d${i}.claims.example` } })).status).toBe(201);
    }
    expect(await error(await api(f, "/api/sites/claims/domains", { method: "POST", json: { domain: "one-more.example" } }))).toEqual([
      400,
      "too_many_domains",
    ]);
    expect((await api(f, "/api/sites/claims", { method: "DELETE" })).status).toBe(200);
  });

  test("with --trust-proxy, failures of one client never lock out another", async () => {
    const g = await startFazt({ args: ["--trust-proxy"] });
    try {
      const from = (ip: string) => ({ "x-forwarded-for": ip });
      for (let i = 0; i < 25; i++) await api(g, "/api/sites", { token: "fzt_bad", headers: from("198.51.100.1") });
      expect(await error(await api(g, "/api/sites", { token: "fzt_bad", headers: from("198.51.100.1") }))).toEqual([
        429,
        "too_many_failures",
      ]);
      expect((await api(g, "/api/sites", { headers: from("198.51.100.2") })).status).toBe(200);
      expect(await error(await api(g, "/api/sites", { token: "fzt_bad", headers: from("198.51.100.2") }))).toEqual([401, "unauthorized"]);
      expect((await api(g, "/api/sites", { headers: from("198.51.100.1") })).status).toBe(200);
    } finally {
      await g.stop();
      cleanup(g.dir);
    }
  });
});

describe("site deletion", () => {
  test("delete: 404 afterwards, its deploys gone, preview hosts gone", async () => {
    const d = (await (await api(f, "/api/sites/shop/deploys")).json()) as { deploys: { id: string }[] };
    const id = d.deploys[0]!.id;
    expect((await hostFetch(f, `${id}--shop.localhost`)).status).toBe(200);
    expect((await api(f, "/api/sites/shop", { method: "DELETE" })).status).toBe(200);
    expect((await api(f, "/api/sites/shop")).status).toBe(404);
    expect((await hostFetch(f, `${id}--shop.localhost`)).status).toBe(404);
    expect((await hostFetch(f, "xn--bcher-kva.example")).status).toBe(404);
    expect((await api(f, "/api/sites", { method: "POST", json: { name: "x", domains: ["bücher.example"] } })).status).toBe(201); // the domain is free again
  });
});
