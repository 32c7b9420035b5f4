// Real Litestream replicating fazt.db to a file replica while deploys and
// traffic run; a restore into an empty folder serves every file byte-identical.
import { afterAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanup, runFazt, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";
import { deploySite, expectServesAll, siteFiles, type SiteFiles } from "./helpers/ops.ts";
import { replicate, restore, type Replicator } from "./helpers/litestream.ts";
import { wrk } from "./helpers/wrk.ts";
import { waitFor } from "./helpers/wait.ts";

describe("litestream", () => {
  const dirs: string[] = [];
  const stops: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
    for (const d of dirs) cleanup(d);
  });
  const dir = (prefix: string) => {
    const d = tempDir(prefix);
    dirs.push(d);
    return d;
  };

  test("litestream-config prints a config for the current database; bad replicas are usage errors", async () => {
    const d = dir("fazt-ls-config-");
    const db = join(d, "fazt.db");
    expect((await runFazt(["token", "create", "--db", db])).code).toBe(0);
    const file = await runFazt(["litestream-config", "--replica", "file:///var/backups/fazt", "--db", db]);
    expect(file.code).toBe(0);
    expect(file.stdout).toContain(`- path: "${db}"`);
    expect(file.stdout).toContain('- url: "file:///var/backups/fazt"');
    const s3 = await runFazt(["litestream-config", "--replica", "s3://bucket/fazt", "--db", db]);
    expect(s3.stdout).toContain("endpoint:");
    for (const bad of ["ftp://x/y", "relative/path", ""]) {
      const r = await runFazt(["litestream-config", "--replica", bad, "--db", db]);
      expect(r.code).toBe(2);
    }
    expect((await runFazt(["litestream-config", "--replica", "s3://b/p", "--db", join(d, "none.db")])).code).toBe(1);
  }, 30_000);

  test("replicating during deploys and wrk traffic; a restore on an empty folder serves every file byte-identical", async () => {
    const work = dir("fazt-ls-");
    const f: FaztProcess = await startFazt({ dir: work });
    stops.push(() => f.stop());
    const sites: Record<string, SiteFiles> = {};
    sites.one = siteFiles("one");
    await deploySite(f, "one", sites.one);

    const replicaUrl = `file://${join(work, "replica")}`;
    const cfg = await runFazt(["litestream-config", "--replica", replicaUrl, "--db", f.db]);
    expect(cfg.code).toBe(0);
    writeFileSync(join(work, "litestream.yml"), cfg.stdout);
    const ls: Replicator = await replicate(join(work, "litestream.yml"));
    stops.push(() => ls.stop());

    const load = wrk(`${f.url}/index.html`, { seconds: 3, connections: 8, headers: { Host: "one.localhost" } });
    for (let round = 0; round < 4; round++) {
      for (const name of ["one", "two", "three"]) {
        sites[name] = siteFiles(`${name}-${round}`, 300 * 1024 * (round + 1));
        await deploySite(f, name, sites[name]!);
      }
    }
    const traffic = await load;
    expect(traffic.connectErrors + traffic.readErrors + traffic.writeErrors + traffic.timeouts + traffic.non2xx3xx).toBe(0);
    // A last deploy marks the end: once a restore holds it, it holds everything before it.
    sites.marker = siteFiles("marker", 1000);
    const markerDeploy = await deploySite(f, "marker", sites.marker);

    const empty = dir("fazt-ls-restore-");
    expect(readdirSync(empty)).toEqual([]);
    const restored = join(empty, "fazt.db");
    let attempt = 0;
    const replicaHasMarker = async () => {
      const probe = join(empty, `probe-${attempt++}.db`);
      await restore(replicaUrl, probe);
      const db = new Database(probe, { readonly: true });
      const live = db.query("SELECT live_deploy_id AS id FROM sites WHERE name = 'marker'").get() as { id: string } | null;
      db.close();
      if (live?.id !== markerDeploy) for (const suffix of ["", "-wal", "-shm"]) cleanup(probe + suffix);
      return live?.id === markerDeploy;
    };
    // Litestream syncs every second: restore until a sync carried the last deploy.
    const what = () => `the replica to catch up with the last deploy:\n${ls.output()}`;
    await waitFor(replicaHasMarker, { what, timeoutMs: 30_000, everyMs: 250 });
    await ls.stop();
    for (const name of readdirSync(empty)) cleanup(join(empty, name));
    await restore(replicaUrl, restored);
    const check = new Database(restored, { readonly: true });
    expect((check.query("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check).toBe("ok");
    check.close();

    const g = await startFazt({ dir: empty, db: restored });
    stops.push(() => g.stop());
    expect(await expectServesAll(g, sites)).toBe(16);
  }, 90_000);
});
