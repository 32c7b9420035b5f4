// Site settings: typed, validated, changed through the API or `fazt site set`,
// applied to serving without a restart.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, cleanup, hostFetch, runFazt, startFazt, type FaztProcess } from "./helpers/fazt.ts";
import { makeTarGz } from "./helpers/archives.ts";

let f: FaztProcess;
beforeAll(async () => {
  f = await startFazt();
  await api(f, "/api/sites", { method: "POST", json: { name: "app" } });
  const body = await makeTarGz([
    { name: "index.html", data: "shell" },
    { name: "about.html", data: "about" },
  ]);
  expect((await api(f, "/api/sites/app/deploys", { method: "POST", body })).status).toBe(201);
});
afterAll(async () => {
  await f.stop();
  cleanup(f.dir);
});

const patch = (json: unknown, token?: string) => api(f, "/api/sites/app/settings", { method: "PATCH", json, token });
const settings = async () => ((await (await api(f, "/api/sites/app/settings")).json()) as { settings: Record<string, unknown> }).settings;

describe("site settings", () => {
  test("defaults, then a patch changes only what it names", async () => {
    const defaults = {
      spa: null,
      hsts: null,
      trailing_slash: "auto",
      not_found: null,
      headers: {},
      dotfiles: false,
      forms: {},
      password: false,
      private_previews: false,
    };
    expect(await settings()).toEqual(defaults);
    expect((await patch({ trailing_slash: "never", headers: { "X-Robots-Tag": "noindex" } })).status).toBe(200);
    expect((await patch({ hsts: 3600 })).status).toBe(200);
    expect(await settings()).toEqual({
      spa: null,
      hsts: { max_age: 3600, include_subdomains: false },
      trailing_slash: "never",
      not_found: null,
      headers: { "X-Robots-Tag": "noindex" },
      dotfiles: false,
      forms: {},
      password: false,
      private_previews: false,
    });
    expect((await patch({ hsts: null, trailing_slash: "auto", headers: {} })).status).toBe(200);
  });

  test("bad values are 400s naming the field, and change nothing", async () => {
    const before = await settings();
    const bad: unknown[] = [
      { spa: "no-slash" },
      { spa: "/../etc" },
      { hsts: -1 },
      { hsts: 63_072_001 },
      { trailing_slash: "sometimes" },
      { not_found: 404 },
      { headers: { "Bad Name": "x" } },
      { headers: { "X-A": "€" } },
      { headers: { "X-A": "a\r\nSet-Cookie: x=1" } },
      { headers: { Connection: "close" } },
      { headers: { "transfer-encoding": "chunked" } },
      { unknown_key: true },
      [],
      "spa",
    ];
    for (const json of bad) {
      const r = await patch(json);
      const body = (await r.json()) as { error?: { code: string } };
      expect({ json, status: r.status, code: body.error?.code }).toEqual({ json, status: 400, code: "bad_request" });
    }
    expect(await settings()).toEqual(before);
  });

  test("spa applies at once; a site token may change its own site's settings only", async () => {
    expect((await hostFetch(f, "app.localhost", "/client/route")).status).toBe(404);
    expect((await patch({ spa: true })).status).toBe(200);
    const r = await hostFetch(f, "app.localhost", "/client/route");
    expect([r.status, await r.text()]).toEqual([200, "shell"]);
    await api(f, "/api/sites", { method: "POST", json: { name: "other" } });
    const token = ((await (await api(f, "/api/sites/other/tokens", { method: "POST" })).json()) as { token: string }).token;
    expect((await patch({ spa: false }, token)).status).toBe(403);
    expect((await api(f, "/api/sites/other/settings", { method: "PATCH", json: { spa: true }, token })).status).toBe(200);
    expect((await patch({ spa: false })).status).toBe(200);
    expect((await hostFetch(f, "app.localhost", "/client/route")).status).toBe(404);
  });

  test("fazt site set NAME key=value... and fazt site set NAME (show)", async () => {
    const env = { FAZT_SERVER: f.url, FAZT_TOKEN: f.token! };
    const set = await runFazt(["site", "set", "app", "spa=/index.html", "hsts=600", "headers.X-Frame-Options=DENY"], { env });
    expect(set.code).toBe(0);
    expect(JSON.parse(set.stdout)).toMatchObject({ spa: "/index.html", hsts: { max_age: 600 }, headers: { "X-Frame-Options": "DENY" } });
    const shown = await runFazt(["site", "set", "app"], { env });
    expect(JSON.parse(shown.stdout).spa).toBe("/index.html");
    const bad = await runFazt(["site", "set", "app", "trailing_slash=sometimes"], { env });
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("trailing_slash");
    expect((await runFazt(["site", "set", "app", "novalue"], { env })).code).toBe(2);
  });
});
