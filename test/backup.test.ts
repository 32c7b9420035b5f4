// Backups: GET /api/backup streams a consistent snapshot while the server is
// under load; fazt backup --gzip; both restore into a server that serves every
// file byte-identical.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { createWriteStream, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { api, cleanup, runFazt, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";
import { deploySite, expectServesAll, siteFiles, type SiteFiles } from "./helpers/ops.ts";
import { wrk } from "./helpers/wrk.ts";
import { metric } from "./helpers/metrics.ts";
import { waitFor } from "./helpers/wait.ts";

function integrity(path: string): string {
  const db = new Database(path, { readonly: true });
  try {
    return (db.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check;
  } finally {
    db.close();
  }
}

describe("backups", () => {
  let f: FaztProcess;
  let dir: string;
  const sites: Record<string, SiteFiles> = {};

  beforeAll(async () => {
    dir = tempDir("fazt-backup-");
    f = await startFazt({ dir });
    for (const name of ["alpha", "beta", "gamma"]) {
      sites[name] = siteFiles(name, 2 * 1024 * 1024);
      await deploySite(f, name, sites[name]!);
    }
  });
  afterAll(async () => {
    await f?.stop();
    cleanup(dir);
  });

  test("GET /api/backup needs an admin token", async () => {
    expect((await api(f, "/api/backup", { token: null })).status).toBe(401);
    const scoped = (await (await api(f, "/api/sites/alpha/tokens", { method: "POST", json: {} })).json()) as { token: string };
    const res = await api(f, "/api/backup", { token: scoped.token });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("forbidden");
  });

  test("a backup streamed under wrk load and during deploys: no failed request, intact copy, every file byte-identical", async () => {
    const served = () => metric(f, "fazt_http_requests_total", { host: "site", code: "2xx" });
    const before = await served();
    const load = wrk(`${f.url}/index.html`, { seconds: 4, connections: 16, headers: { Host: "alpha.localhost" } });
    // The backup starts once the load is flowing: the server has answered some of it.
    await waitFor(async () => (await served()) >= before + 200, { what: "200 requests of the load answered", timeoutMs: 3000 });
    // A deploy racing the backup: the snapshot holds either the old or the new deploy, never a mix.
    const gammaBefore = sites.gamma!;
    const gammaAfter = siteFiles("gamma2", 2 * 1024 * 1024);
    const racing = deploySite(f, "gamma", gammaAfter);
    const out = join(dir, "api-backup.db");
    const res = await api(f, "/api/backup");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/vnd.sqlite3");
    const length = Number(res.headers.get("x-fazt-snapshot-bytes"));
    const file = createWriteStream(out);
    for await (const chunk of res.body!) file.write(chunk);
    await new Promise((r) => file.end(r));
    const newGammaDeploy = await racing;
    sites.gamma = gammaAfter;
    const result = await load;
    expect(length).toBeGreaterThan(6 * 1024 * 1024);
    expect(statSync(out).size).toBe(length);
    expect(result.requests).toBeGreaterThan(100);
    expect(result.connectErrors + result.readErrors + result.writeErrors + result.timeouts + result.non2xx3xx).toBe(0);
    expect(integrity(out)).toBe("ok");

    // The copy either has gamma's second deploy or not: serve what it holds.
    const copyDir = tempDir("fazt-backup-copy-");
    try {
      const db = join(copyDir, "fazt.db");
      writeFileSync(db, readFileSync(out));
      const copy = new Database(db, { readonly: true });
      const gammaLive = copy.query("SELECT live_deploy_id AS id FROM sites WHERE name = 'gamma'").get() as { id: string };
      copy.close();
      const g = await startFazt({ dir: copyDir, db });
      try {
        const gamma = gammaLive.id === newGammaDeploy ? gammaAfter : gammaBefore;
        expect(await expectServesAll(g, { alpha: sites.alpha!, beta: sites.beta!, gamma })).toBe(12);
      } finally {
        await g.stop();
      }
    } finally {
      cleanup(copyDir);
    }
  }, 60_000);

  test("fazt backup --gzip writes a 0600 gzip of a consistent copy that a server serves byte-identical", async () => {
    const out = join(dir, "cli-backup.db.gz");
    const r = await runFazt(["backup", out, "--gzip", "--db", f.db]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    const copyDir = tempDir("fazt-backup-gz-");
    try {
      const db = join(copyDir, "fazt.db");
      writeFileSync(db, gunzipSync(readFileSync(out)));
      expect(integrity(db)).toBe("ok");
      const g = await startFazt({ dir: copyDir, db });
      try {
        expect(await expectServesAll(g, sites)).toBe(12);
      } finally {
        await g.stop();
      }
    } finally {
      cleanup(copyDir);
    }
    const again = await runFazt(["backup", out, "--gzip", "--db", f.db]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already exists");
  }, 30_000);
});
