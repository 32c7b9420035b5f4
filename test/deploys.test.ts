// Deploys through the real server: archives, history, rollback, previews,
// single-file PUT, incremental uploads, retention and GC, and every kind of
// bad input (each must leave the live deploy and the database untouched).
import { describe, expect, test, beforeAll, afterAll } from "bun:test";
import { Database } from "bun:sqlite";
import { startFazt, api, hostFetch, cleanup, type FaztProcess } from "./helpers/fazt.ts";
import { waitFor } from "./helpers/wait.ts";
import { makeTar, makeTarGz, makeZip } from "./helpers/archives.ts";

const MiB = 1024 * 1024;
let f: FaztProcess;
let v1: string; // the live deploy bad input must leave alone

beforeAll(async () => {
  f = await startFazt({
    args: [
      "--max-file-bytes",
      String(MiB),
      "--max-deploy-bytes",
      String(3 * MiB),
      "--max-files",
      "20",
      "--max-path-length",
      "100",
      "--keep-deploys",
      "3",
    ],
  });
  expect((await api(f, "/api/sites", { method: "POST", json: { name: "blog" } })).status).toBe(201);
  expect((await api(f, "/api/sites", { method: "POST", json: { name: "other" } })).status).toBe(201);
  const r = await deploy(
    "blog",
    await makeTarGz([
      { name: "index.html", data: "<h1>v1</h1>" },
      { name: "css/site.css", data: "body{}" },
    ]),
  );
  expect(r.status).toBe(201);
  v1 = ((await r.json()) as { id: string }).id;
});

afterAll(async () => {
  await f.stop();
  cleanup(f.dir);
});

function deploy(site: string, body: Uint8Array | string, query = "", token?: string | null) {
  return api(f, `/api/sites/${site}/deploys${query}`, { method: "POST", body, token });
}

async function page(site: string, path = "/"): Promise<string> {
  const r = await hostFetch(f, `${site}.localhost`, path);
  return r.status === 200 ? await r.text() : `HTTP ${r.status}`;
}

function db<T>(fn: (d: Database) => T): T {
  const d = new Database(f.db, { readonly: true });
  try {
    return fn(d);
  } finally {
    d.close();
  }
}

async function gc(): Promise<void> {
  expect((await api(f, "/api/gc", { method: "POST" })).status).toBe(200);
}

/** The live deploy is still v1, served whole; no upload left open; the database is sound. */
async function expectUntouched(): Promise<void> {
  const site = (await (await api(f, "/api/sites/blog")).json()) as { live_deploy: string };
  expect(site.live_deploy).toBe(v1);
  expect(await page("blog")).toBe("<h1>v1</h1>");
  expect(await page("blog", "/css/site.css")).toBe("body{}");
  db((d) => {
    expect(d.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    expect(d.query("PRAGMA foreign_key_check").all()).toEqual([]);
    expect(d.query("SELECT count(*) AS n FROM uploads").get()).toEqual({ n: 0 });
  });
}

async function expectError(res: Response, status: number, code: string, message?: RegExp): Promise<void> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  expect({ status: res.status, code: body.error.code }).toEqual({ status, code });
  if (message) expect(body.error.message).toMatch(message);
}

describe("deploy, history, rollback", () => {
  test("tar.gz then zip then rollback; preview of a non-activated deploy", async () => {
    expect(await page("other")).toBe("HTTP 404");
    const a = await deploy("other", await makeTarGz([{ name: "./index.html", data: "one" }]));
    const first = (await a.json()) as { id: string; files: number; bytes: number; url: string; live: boolean };
    expect({ status: a.status, files: first.files, bytes: first.bytes, live: first.live }).toEqual({
      status: 201,
      files: 1,
      bytes: 3,
      live: true,
    });
    expect(first.url).toBe(`http://other.localhost:${f.port}/`);
    expect(await page("other")).toBe("one");

    const b = await deploy("other", makeZip([{ name: "index.html", data: "two", deflate: true }, { name: "dir/" }]));
    expect(b.status).toBe(201);
    const second = (await b.json()) as { id: string };
    expect(await page("other")).toBe("two");

    const history = (await (await api(f, "/api/sites/other/deploys")).json()) as { deploys: { id: string; live: boolean }[] };
    expect(history.deploys.map((d) => [d.id, d.live])).toEqual([
      [second.id, true],
      [first.id, false],
    ]);

    const rb = await api(f, `/api/sites/other/deploys/${first.id}/activate`, { method: "POST" });
    expect(rb.status).toBe(200);
    expect(await page("other")).toBe("one");

    const p = await deploy("other", await makeTar([{ name: "index.html", data: "preview" }]), "?activate=false");
    const preview = (await p.json()) as { id: string; url: string; live: boolean };
    expect({ status: p.status, live: preview.live }).toEqual({ status: 201, live: false });
    expect(preview.url).toBe(`http://${preview.id}--other.localhost:${f.port}/`);
    expect(await page("other")).toBe("one");
    expect(await page(`${preview.id}--other`)).toBe("preview");
    expect(await page(`${preview.id}--blog`)).toBe("HTTP 404"); // not blog's deploy

    await expectError(await api(f, "/api/sites/other/deploys/nosuchid/activate", { method: "POST" }), 404, "deploy_not_found");
    await expectError(await api(f, `/api/sites/blog/deploys/${first.id}/activate`, { method: "POST" }), 404, "deploy_not_found");
  });

  test("content is stored once across deploys and sites", async () => {
    const big = "x".repeat(600 * 1024); // three chunks
    await deploy(
      "other",
      await makeTarGz([
        { name: "a.txt", data: big },
        { name: "b.txt", data: big },
      ]),
    );
    await deploy("other", makeZip([{ name: "c.txt", data: big, deflate: true }]));
    db((d) => {
      const rows = d.query("SELECT size, chunks FROM blobs WHERE size = ?").all(big.length);
      expect(rows).toEqual([{ size: big.length, chunks: 3 }]);
    });
    expect(await page("other", "/c.txt")).toBe(big);
  });

  test("retention keeps the newest N deploys (and the live one); GC removes content only they held", async () => {
    await api(f, "/api/sites", { method: "POST", json: { name: "keep" } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await deploy("keep", await makeTarGz([{ name: "index.html", data: `version ${i}` }]), i === 0 ? "" : "?activate=false");
      ids.push(((await r.json()) as { id: string }).id);
    }
    const history = (await (await api(f, "/api/sites/keep/deploys")).json()) as { deploys: { id: string }[] };
    expect(history.deploys.map((d) => d.id).sort()).toEqual([ids[0], ids[2], ids[3], ids[4]].sort() as string[]);
    await gc();
    await gc(); // a variant whose original went in the first pass goes in the second
    db((d) => {
      expect(
        d.query("SELECT count(*) AS n FROM blobs WHERE hash = ?").get(new Bun.CryptoHasher("sha256").update("version 1").digest("hex")),
      ).toEqual({ n: 0 });
      const orphans = d
        .query(
          "SELECT count(*) AS n FROM blobs b WHERE NOT EXISTS (SELECT 1 FROM deploy_files f WHERE f.blob_id = b.id) " +
            "AND NOT EXISTS (SELECT 1 FROM blob_variants v WHERE v.variant_blob_id = b.id)",
        )
        .get(); // variants are held by their original
      expect(orphans).toEqual({ n: 0 });
    });
    expect(await page("keep")).toBe("version 0");
  });

  test("retention never drops the rollback target (the deploy live before), however many previews follow", async () => {
    await api(f, "/api/sites", { method: "POST", json: { name: "prev" } });
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const r = await deploy("prev", await makeTarGz([{ name: "index.html", data: `prev ${i}` }]), i < 2 ? "" : "?activate=false");
      ids.push(((await r.json()) as { id: string }).id);
    }
    const history = (await (await api(f, "/api/sites/prev/deploys")).json()) as {
      deploys: { id: string; live: boolean; preview: boolean }[];
    };
    const [p0, p1, , p3, p4, p5] = ids as [string, string, string, string, string, string]; // p2 went with retention
    expect(history.deploys.map((d) => [d.id, d.live, d.preview])).toEqual([
      [p5, false, true],
      [p4, false, true],
      [p3, false, true],
      [p1, true, false],
      [p0, false, false],
    ]);
    expect((await api(f, `/api/sites/prev/deploys/${p0}/activate`, { method: "POST" })).status).toBe(200);
    expect(await page("prev")).toBe("prev 0");
  });

  test("single-file PUT makes a new deploy: the live one plus that file", async () => {
    const r = await api(f, "/api/sites/other/files/docs/hello%20world.txt", { method: "PUT", body: "hi there" });
    expect(r.status).toBe(201);
    const d = (await r.json()) as { files: number; live: boolean };
    expect(d.live).toBe(true);
    expect(await page("other", "/docs/hello%20world.txt")).toBe("hi there");
    expect(await page("other", "/c.txt")).toHaveLength(600 * 1024);
    await expectError(await api(f, "/api/sites/blog/files/%252e%252e/x", { method: "PUT", body: "x" }), 400, "invalid_path");
    await expectError(await api(f, "/api/sites/blog/files/a%2fb", { method: "PUT", body: "x" }), 400, "invalid_path");
    await expectError(
      await api(f, "/api/sites/blog/files/big.bin", { method: "PUT", body: new Uint8Array(MiB + 1) }),
      413,
      "file_too_large",
    );
    await expectUntouched();
  });

  test("deleting a site removes its deploys and then its unreferenced content", async () => {
    await api(f, "/api/sites", { method: "POST", json: { name: "gone" } });
    const only = `content only this site has ${Math.random()}`;
    expect((await deploy("gone", await makeTarGz([{ name: "index.html", data: only }]))).status).toBe(201);
    expect((await api(f, "/api/sites/gone", { method: "DELETE" })).status).toBe(200);
    expect(await page("gone")).toBe("HTTP 404");
    await gc();
    const hash = new Bun.CryptoHasher("sha256").update(only).digest("hex");
    db((d) => {
      expect(d.query("SELECT count(*) AS n FROM blobs WHERE hash = ?").get(hash)).toEqual({ n: 0 });
      expect(d.query("SELECT count(*) AS n FROM deploys d WHERE NOT EXISTS (SELECT 1 FROM sites s WHERE s.id = d.site_id)").get()).toEqual({
        n: 0,
      });
    });
    await expectUntouched();
  });
});

describe("bad input leaves the live deploy and the database intact", () => {
  const traversal: [string, () => Promise<Uint8Array> | Uint8Array][] = [
    ["tar ../", () => makeTarGz([{ name: "../evil.html", data: "x" }])],
    ["tar a/../../", () => makeTarGz([{ name: "a/../../evil.html", data: "x" }])],
    ["tar absolute", () => makeTarGz([{ name: "/etc/evil.html", data: "x" }])],
    ["tar backslash", () => makeTarGz([{ name: "..\\evil.html", data: "x" }])],
    ["tar percent-encoded dots", () => makeTarGz([{ name: "%2e%2e/evil.html", data: "x" }])],
    ["tar control character", () => makeTarGz([{ name: "a\nb.html", data: "x" }])],
    [
      "zip-slip ../",
      () =>
        makeZip([
          { name: "ok.html", data: "x" },
          { name: "../../evil.html", data: "x" },
        ]),
    ],
    ["zip absolute", () => makeZip([{ name: "/etc/evil.html", data: "x" }])],
    ["zip backslash", () => makeZip([{ name: "..\\..\\evil.html", data: "x" }])],
    ["zip NUL", () => makeZip([{ name: "evil.html\0.png", data: "x" }])],
    ["zip percent-encoded", () => makeZip([{ name: "a/%2E%2E/%2e%2e/evil.html", data: "x" }])],
  ];
  for (const [name, make] of traversal) {
    test(`path traversal: ${name} → 400`, async () => {
      const res = await deploy("blog", await make());
      expect(res.status).toBe(400);
      const body = (await res.json()) as { error: { code: string } };
      expect(["invalid_path", "invalid_archive"]).toContain(body.error.code);
      await expectUntouched();
    });
  }

  test("symlinks and hard links in tar, symlinks in zip → 400", async () => {
    await expectError(
      await deploy("blog", await makeTarGz([{ name: "passwd", type: "symlink", linkname: "/etc/passwd" }])),
      400,
      "invalid_archive",
      /symbolic link/,
    );
    await expectError(
      await deploy(
        "blog",
        await makeTarGz([
          { name: "index.html", data: "x" },
          { name: "h", type: "link", linkname: "index.html" },
        ]),
      ),
      400,
      "invalid_archive",
      /hard link/,
    );
    await expectError(
      await deploy("blog", makeZip([{ name: "passwd", data: "/etc/passwd", mode: 0o120777 }])),
      400,
      "invalid_archive",
      /symbolic link/,
    );
    await expectUntouched();
  });

  test("duplicate paths → 400", async () => {
    await expectError(
      await deploy(
        "blog",
        await makeTarGz([
          { name: "a.html", data: "1" },
          { name: "./a.html", data: "2" },
        ]),
      ),
      400,
      "duplicate_path",
    );
    await expectError(
      await deploy(
        "blog",
        makeZip([
          { name: "a.html", data: "1" },
          { name: "a.html", data: "2" },
        ]),
      ),
      400,
      "duplicate_path",
    );
    await expectUntouched();
  });

  test("truncated, random, empty → 400/415", async () => {
    const good = await makeTarGz(
      Array.from({ length: 5 }, (_, i) => ({ name: `f${i}.txt`, data: crypto.getRandomValues(new Uint8Array(20_000)) })),
    );
    await expectError(await deploy("blog", good.subarray(0, good.length - 30_000)), 400, "invalid_archive");
    const tarPlain = await makeTar([{ name: "a.txt", data: "x".repeat(5000) }]);
    await expectError(await deploy("blog", tarPlain.subarray(0, 2000)), 400, "invalid_archive");
    const zip = makeZip([{ name: "a.txt", data: "hello".repeat(100) }]);
    await expectError(await deploy("blog", zip.subarray(0, 200)), 400, "invalid_archive");
    await expectError(await deploy("blog", crypto.getRandomValues(new Uint8Array(10_000))), 415, "unsupported_archive");
    await expectError(await deploy("blog", ""), 400, "empty_archive");
    await expectError(await deploy("blog", await makeTarGz([])), 400, "empty_archive");
    await expectError(await deploy("blog", await makeTarGz([{ name: "only-a-dir/", type: "directory" }])), 400, "empty_archive");
    await expectError(await deploy("blog", makeZip([])), 400, "empty_archive");
    await expectUntouched();
  });

  test("zip bombs stop at the limit while streaming → 413/400", async () => {
    const zeros = new Uint8Array(20 * MiB);
    // Honest headers: refused from the declared size before any inflating.
    await expectError(
      await deploy("blog", makeZip([{ name: "bomb.bin", data: zeros, deflate: true }])),
      413,
      "file_too_large",
      /file size limit/,
    );
    // Lying headers: inflating stops just past the declared size.
    const t0 = performance.now();
    await expectError(
      await deploy("blog", makeZip([{ name: "bomb.bin", data: zeros, deflate: true, declaredSize: 1000 }])),
      400,
      "invalid_archive",
    );
    // tar.gz: a 20 MiB member is refused from its header.
    await expectError(await deploy("blog", await makeTarGz([{ name: "bomb.bin", data: zeros }])), 413, "file_too_large");
    expect(performance.now() - t0).toBeLessThan(5000);
    await expectUntouched();
  });

  test("limits: file count, deploy size, path length → 413 naming the limit", async () => {
    const many = Array.from({ length: 21 }, (_, i) => ({ name: `f${i}.txt`, data: "x" }));
    await expectError(await deploy("blog", await makeTarGz(many)), 413, "too_many_files", /file count limit \(20; --max-files\)/);
    const heavy = Array.from({ length: 4 }, (_, i) => ({ name: `f${i}.bin`, data: crypto.getRandomValues(new Uint8Array(900 * 1024)) }));
    await expectError(
      await deploy("blog", await makeTarGz(heavy)),
      413,
      "deploy_too_large",
      /deploy size limit \(3 MiB; --max-deploy-bytes\)/,
    );
    await expectError(await deploy("blog", makeZip(heavy)), 413, "deploy_too_large");
    await expectError(
      await deploy("blog", await makeTarGz([{ name: `${"d/".repeat(60)}x.html`, data: "x" }])),
      413,
      "path_too_long",
      /--max-path-length/,
    );
    await expectUntouched();
  });

  test("tokens: missing or wrong → 401, another site's → 403", async () => {
    const body = await makeTarGz([{ name: "index.html", data: "intruder" }]);
    await expectError(await deploy("blog", body, "", null), 401, "unauthorized");
    await expectError(await deploy("blog", body, "", `fzt_aaaaaaaaaaaa_${"b".repeat(43)}`), 401, "unauthorized");
    const other = ((await (await api(f, "/api/sites/other/tokens", { method: "POST" })).json()) as { token: string }).token;
    await expectError(await deploy("blog", body, "", other), 403, "forbidden");
    await expectError(await api(f, `/api/sites/blog/deploys/${v1}/activate`, { method: "POST", token: other }), 403, "forbidden");
    await expectError(await api(f, "/api/sites/blog/files/x.html", { method: "PUT", body: "x", token: other }), 403, "forbidden");
    // The site's own deploy token works for its site.
    expect((await deploy("other", body, "?activate=false", other)).status).toBe(201);
    await expectUntouched();
  });

  test("a client that disconnects mid-upload: nothing committed, nothing left after GC", async () => {
    // Precompressed variants are made (and orphaned ones collected) in the background: count the rest, from a clean start.
    const CONTENT = "SELECT count(*) AS n FROM blobs WHERE id NOT IN (SELECT variant_blob_id FROM blob_variants)";
    await gc();
    const blobsBefore = db((d) => d.query(CONTENT).get());
    // Random (incompressible) content: the part sent holds whole files and a staged big one.
    const archive = await makeTar([
      { name: "a.bin", data: crypto.getRandomValues(new Uint8Array(300_000)) },
      { name: "b.bin", data: crypto.getRandomValues(new Uint8Array(700_000)) },
    ]);
    const sent = archive.subarray(0, 800_000);
    const closed = Promise.withResolvers<void>();
    const socket = await Bun.connect({
      hostname: "127.0.0.1",
      port: f.port,
      socket: { data() {}, close: () => closed.resolve(), error: () => closed.resolve() },
    });
    socket.write(
      `POST /api/sites/blog/deploys HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${f.token}\r\nContent-Length: ${archive.length}\r\n\r\n`,
    );
    socket.write(sent);
    socket.flush();
    // Wait until the server has written some of it, then hang up.
    const count = (table: string) => db((d) => (d.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n);
    await waitFor(() => count("upload_blobs") > 0, { what: "part of the upload staged", timeoutMs: 3000 });
    socket.end();
    await closed.promise;
    await waitFor(() => count("uploads") === 0, { what: "the cut-off upload ended by the server", timeoutMs: 3000 });
    await gc();
    expect(db((d) => d.query(CONTENT).get())).toEqual(blobsBefore);
    await expectUntouched();
  });
});

describe("incremental uploads", () => {
  const sha = (s: string) => new Bun.CryptoHasher("sha256").update(s).digest("hex");

  test("GC spares content an open upload relies on, and variants of live content", async () => {
    const text = "a compressible page ".repeat(500);
    await api(f, "/api/sites", { method: "POST", json: { name: "gcsafe" } });
    expect((await deploy("gcsafe", await makeTarGz([{ name: "index.html", data: text }]))).status).toBe(201);
    // The content's only deploy goes; an upload opened before GC runs still relies on it.
    // Another site's content is not present for this one: it is uploaded (and stored once).
    const open = await api(f, "/api/sites/other/uploads", { method: "POST", json: { files: { "/kept.html": sha(text) } } });
    const { id, required } = (await open.json()) as { id: string; required: string[] };
    expect(required).toEqual([sha(text)]);
    expect((await api(f, `/api/sites/other/uploads/${id}/blobs/${sha(text)}`, { method: "PUT", body: text })).status).toBe(201);
    expect((await api(f, "/api/sites/gcsafe", { method: "DELETE" })).status).toBe(200);
    await gc();
    expect((await api(f, `/api/sites/other/uploads/${id}/commit`, { method: "POST", json: {} })).status).toBe(201);
    expect(await page("other", "/kept.html")).toBe(text);
    // Its precompressed variants (made in the background) survive GC while it is live.
    const variants = () =>
      db(
        (d) =>
          (
            d.query("SELECT count(*) AS n FROM blob_variants v JOIN blobs b ON b.id = v.blob_id WHERE b.hash = ?").get(sha(text)) as {
              n: number;
            }
          ).n,
      );
    await waitFor(() => variants() > 0, { what: "the precompressed variants of the live content", timeoutMs: 5000 });
    await gc();
    expect(variants()).toBeGreaterThan(0);
    const br = await hostFetch(f, "other.localhost", "/kept.html", { headers: { "accept-encoding": "br" } });
    expect(br.headers.get("content-encoding")).toBe("br");
    expect(await br.text()).toBe(text); // fetch decodes it
  });

  test("only missing content is asked for; commit needs it all; hashes are checked", async () => {
    const files = { "/index.html": sha("<h1>v1</h1>"), "/new.txt": sha("new content"), "/copy.txt": sha("new content") };
    const open = await api(f, "/api/sites/other/uploads", { method: "POST", json: { files } });
    expect(open.status).toBe(201);
    const { id, required } = (await open.json()) as { id: string; required: string[] };
    // /index.html is blog's page, not other's: asked for like new content.
    expect(required).toEqual([sha("<h1>v1</h1>"), sha("new content")]);
    expect(
      (await api(f, `/api/sites/other/uploads/${id}/blobs/${sha("<h1>v1</h1>")}`, { method: "PUT", body: "<h1>v1</h1>" })).status,
    ).toBe(201);
    await expectError(await api(f, `/api/sites/other/uploads/${id}/commit`, { method: "POST", json: {} }), 409, "missing_content");
    await expectError(
      await api(f, `/api/sites/other/uploads/${id}/blobs/${sha("new content")}`, { method: "PUT", body: "tampered" }),
      400,
      "hash_mismatch",
    );
    await expectError(
      await api(f, `/api/sites/other/uploads/${id}/blobs/${sha("other")}`, { method: "PUT", body: "other" }),
      400,
      "not_in_manifest",
    );
    expect(
      (await api(f, `/api/sites/other/uploads/${id}/blobs/${sha("new content")}`, { method: "PUT", body: "new content" })).status,
    ).toBe(201);
    const c = await api(f, `/api/sites/other/uploads/${id}/commit`, { method: "POST", json: { activate: true } });
    expect(c.status).toBe(201);
    expect(((await c.json()) as { files: number }).files).toBe(3);
    expect(await page("other", "/copy.txt")).toBe("new content");
    await expectError(await api(f, `/api/sites/other/uploads/${id}/commit`, { method: "POST", json: {} }), 404, "upload_not_found");
    await expectError(
      await api(f, "/api/sites/other/uploads", { method: "POST", json: { files: { "../x": sha("x") } } }),
      400,
      "invalid_path",
    );
    await expectError(
      await api(f, "/api/sites/other/uploads", { method: "POST", json: { files: { "/x": "nothex" } } }),
      400,
      "bad_request",
    );
  });
});
