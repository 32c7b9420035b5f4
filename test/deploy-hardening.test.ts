// Deploys under attack or bad luck, against the real server: one site's token
// probing for another site's content, dotfiles in every way in, and a site
// deleted while its upload streams.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { api, cleanup, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";
import { waitFor } from "./helpers/wait.ts";
import { makeTar, makeTarGz, makeZip } from "./helpers/archives.ts";
import { seedDeploy } from "./helpers/sites.ts";
import { errorOf, expectHealthy, page, readDb, type Survivor } from "./helpers/hostile.ts";

let f: FaztProcess;
const survivors: Survivor[] = [];
const SECRET = "the other site's unpublished secret";

const sha256 = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");

beforeAll(async () => {
  const dir = tempDir();
  // A site that opted in to dotfiles (the site setting dotfiles).
  seedDeploy(`${dir}/fazt.db`, "dotty", { "/index.html": "dotty" }, { settings: { dotfiles: true } });
  f = await startFazt({ dir });
  for (const [site, files] of [
    [
      "victim",
      [
        { name: "index.html", data: "victim" },
        { name: "secret.txt", data: SECRET },
      ],
    ],
    ["attacker", [{ name: "index.html", data: "attacker" }]],
  ] as const) {
    expect((await api(f, "/api/sites", { method: "POST", json: { name: site } })).status).toBe(201);
    const r = await api(f, `/api/sites/${site}/deploys`, { method: "POST", body: await makeTarGz([...files]) });
    expect(r.status).toBe(201);
    survivors.push({ site, deployId: ((await r.json()) as { id: string }).id, pages: { "/": site } });
  }
});

afterAll(async () => {
  await f.stop();
  cleanup(f.dir);
});

async function siteToken(site: string): Promise<string> {
  const r = await api(f, `/api/sites/${site}/tokens`, { method: "POST" });
  expect(r.status).toBe(201);
  return ((await r.json()) as { token: string }).token;
}

describe("incremental uploads see only the site's own content", () => {
  test("another site's hash is required; guessing it and committing fails; uploading the bytes dedups", async () => {
    const token = await siteToken("attacker");
    const own = sha256("attacker");
    const open = await api(f, "/api/sites/attacker/uploads", {
      method: "POST",
      token,
      json: { files: { "/index.html": own, "/stolen.txt": sha256(SECRET) } },
    });
    expect(open.status).toBe(201);
    const upload = (await open.json()) as { id: string; required: string[] };
    // Its own page is present; the victim's secret is not, though the store holds it.
    expect(upload.required).toEqual([sha256(SECRET)]);
    const commit = () => api(f, `/api/sites/attacker/uploads/${upload.id}/commit`, { method: "POST", token, json: { activate: false } });
    expect(await errorOf(await commit())).toMatchObject({ status: 409, code: "missing_content" });
    const put = (body: string) =>
      api(f, `/api/sites/attacker/uploads/${upload.id}/blobs/${sha256(SECRET)}`, { method: "PUT", token, body });
    expect(await errorOf(await put("a guess"))).toMatchObject({ status: 400, code: "hash_mismatch" });
    // Whoever really has the bytes may publish them; they are stored once.
    expect((await put(SECRET)).status).toBe(201);
    expect((await commit()).status).toBe(201);
    readDb(f, (d) => expect(d.query("SELECT count(*) AS n FROM blobs WHERE hash = ?").get(sha256(SECRET))).toEqual({ n: 1 }));
    await expectHealthy(f, survivors);
  });

  test("an upload of this site in progress counts as present for the next one", async () => {
    const token = await siteToken("attacker");
    const fresh = "fresh content only the attacker uploaded";
    const first = (await (
      await api(f, "/api/sites/attacker/uploads", { method: "POST", token, json: { files: { "/f.txt": sha256(fresh) } } })
    ).json()) as {
      id: string;
      required: string[];
    };
    expect(first.required).toEqual([sha256(fresh)]);
    expect(
      (await api(f, `/api/sites/attacker/uploads/${first.id}/blobs/${sha256(fresh)}`, { method: "PUT", token, body: fresh })).status,
    ).toBe(201);
    const second = (await (
      await api(f, "/api/sites/attacker/uploads", { method: "POST", token, json: { files: { "/g.txt": sha256(fresh) } } })
    ).json()) as {
      required: string[];
    };
    expect(second.required).toEqual([]);
    const victim = await siteToken("victim");
    const probe = (await (
      await api(f, "/api/sites/victim/uploads", { method: "POST", token: victim, json: { files: { "/g.txt": sha256(fresh) } } })
    ).json()) as {
      required: string[];
    };
    expect(probe.required).toEqual([sha256(fresh)]);
  });
});

describe("dotfiles: .well-known/ is published, other dotfiles are not (unless the site opts in)", () => {
  const files = [
    { name: "index.html", data: "home" },
    { name: ".env", data: "SECRET=1" },
    { name: ".git/config", data: "[core]" },
    { name: "assets/.DS_Store", data: "junk" },
    { name: ".well-known/security.txt", data: "Contact: mailto:sec@example.com" },
    { name: ".well-known/.hidden", data: "hidden" },
  ];
  const hidden = ["/.env", "/.git/config", "/assets/.DS_Store", "/.well-known/.hidden"];

  for (const [kind, make] of [
    ["tar", () => makeTar(files)],
    ["tar.gz", () => makeTarGz(files)],
    ["zip", () => makeZip(files)],
  ] as const) {
    test(`${kind}: hidden paths are left out`, async () => {
      expect((await api(f, "/api/sites", { method: "POST", json: { name: `dots-${kind.replace(".", "")}` } })).status).toBe(201);
      const site = `dots-${kind.replace(".", "")}`;
      const r = await api(f, `/api/sites/${site}/deploys`, { method: "POST", body: await make() });
      expect(r.status).toBe(201);
      expect(((await r.json()) as { files: number }).files).toBe(2);
      expect(await page(f, site, "/.well-known/security.txt")).toBe("Contact: mailto:sec@example.com");
      for (const p of hidden) expect(await page(f, site, p)).toBe("HTTP 404");
      readDb(f, (d) => expect(d.query("SELECT count(*) AS n FROM blobs WHERE hash = ?").get(sha256("SECRET=1"))).toEqual({ n: 0 }));
    });
  }

  test("single-file PUT and incremental manifests refuse a hidden path with 400 naming the rule", async () => {
    const put = await api(f, "/api/sites/victim/files/.env", { method: "PUT", body: "SECRET=1" });
    expect(await errorOf(put)).toMatchObject({ status: 400, code: "hidden_path", message: expect.stringContaining("/.well-known/") });
    const manifest = await api(f, "/api/sites/victim/uploads", { method: "POST", json: { files: { "/a/.git/HEAD": sha256("x") } } });
    expect(await errorOf(manifest)).toMatchObject({ status: 400, code: "hidden_path" });
    const wk = await api(f, "/api/sites/victim/files/.well-known/security.txt?activate=false", { method: "PUT", body: "Contact: x" });
    expect(wk.status).toBe(201);
    await expectHealthy(f, survivors);
  });

  test("a site that opted in keeps them, in archives and single-file PUTs", async () => {
    const r = await api(f, "/api/sites/dotty/deploys", { method: "POST", body: await makeTarGz(files) });
    expect(((await r.json()) as { files: number }).files).toBe(files.length);
    expect(await page(f, "dotty", "/.env")).toBe("SECRET=1");
    expect((await api(f, "/api/sites/dotty/files/.htaccess", { method: "PUT", body: "x" })).status).toBe(201);
  });
});

test("a site deleted while its upload streams: 404 site_not_found, nothing left behind", async () => {
  expect((await api(f, "/api/sites", { method: "POST", json: { name: "doomed" } })).status).toBe(201);
  // Two files, the first bigger than a chunk, so rows are written before the site goes.
  const tar = await makeTar([
    { name: "big.bin", data: new Uint8Array(600 * 1024).fill(7) },
    { name: "index.html", data: "doomed" },
  ]);
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const body = new ReadableStream<Uint8Array>({
    async start(c) {
      c.enqueue(tar.subarray(0, 400 * 1024));
      await released;
      c.enqueue(tar.subarray(400 * 1024));
      c.close();
    },
  });
  const pending = api(f, "/api/sites/doomed/deploys", { method: "POST", body, duplex: "half" } as RequestInit);
  // The upload is open (its row exists) and has staged its first chunk.
  const staged = () =>
    readDb(f, (d) => d.query("SELECT count(*) AS n FROM upload_blobs ub JOIN uploads u ON u.id = ub.upload_id").get() as { n: number }).n;
  await waitFor(() => staged() > 0, { what: "the upload's first chunk staged", timeoutMs: 5000 });
  expect((await api(f, "/api/sites/doomed", { method: "DELETE" })).status).toBe(200);
  release();
  expect(await errorOf(await pending)).toMatchObject({ status: 404, code: "site_not_found" });
  expect((await api(f, "/api/gc", { method: "POST" })).status).toBe(200);
  readDb(f, (d) => {
    expect(d.query("SELECT count(*) AS n FROM uploads WHERE kind = 'stream'").get()).toEqual({ n: 0 });
    expect(d.query("SELECT count(*) AS n FROM blobs WHERE hash LIKE 'staged:%'").get()).toEqual({ n: 0 });
  });
  await expectHealthy(f, survivors);
});
