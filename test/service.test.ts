// fazt service install --dry-run: the unit it would write, checked line by line
// and by systemd's own parser (systemd-analyze verify, installed by .ci/run).
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { cleanup, ROOT, runFazt, tempDir } from "./helpers/fazt.ts";

const dirs: string[] = [];
afterAll(() => dirs.forEach(cleanup));

/** The unit's "Key=value" lines as a map of key to values (a key may repeat). */
function unitKeys(unit: string): Map<string, string[]> {
  const keys = new Map<string, string[]>();
  for (const line of unit.split("\n")) {
    const m = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (m) keys.set(m[1]!, [...(keys.get(m[1]!) ?? []), m[2]!]);
  }
  return keys;
}

test("--dry-run prints a hardened unit for its own user and changes nothing", async () => {
  const r = await runFazt(["service", "install", "--dry-run", "--domain", "example.com", "--acme-email", "ops@example.com"]);
  expect(r.code).toBe(0);
  const k = unitKeys(r.stdout);
  expect(k.get("User")).toEqual(["fazt"]);
  expect(k.get("Group")).toEqual(["fazt"]);
  expect(k.get("ExecStart")).toEqual(["/usr/local/bin/fazt serve --db /var/lib/fazt/fazt.db --domain example.com --acme-email ops@example.com"]);
  expect(k.get("AmbientCapabilities")).toEqual(["CAP_NET_BIND_SERVICE"]);
  expect(k.get("CapabilityBoundingSet")).toEqual(["CAP_NET_BIND_SERVICE"]);
  expect(k.get("Restart")).toEqual(["on-failure"]);
  expect(Number(k.get("LimitNOFILE")?.[0])).toBeGreaterThanOrEqual(65536);
  expect(k.get("ProtectSystem")).toEqual(["strict"]);
  expect(k.get("ReadWritePaths")).toEqual(["/var/lib/fazt"]);
  expect(k.get("UMask")).toEqual(["0077"]);
  for (const on of ["NoNewPrivileges", "PrivateTmp", "ProtectHome", "PrivateDevices", "ProtectKernelTunables", "RestrictSUIDSGID"]) {
    expect(k.get(on)).toEqual(["yes"]);
  }
  expect(k.get("WantedBy")).toEqual(["multi-user.target"]);
  expect(await Bun.file("/etc/systemd/system/fazt.service").exists()).toBe(false);
});

test("paths and values are quoted and escaped for systemd; bad names are refused", async () => {
  const r = await runFazt(["service", "install", "--dry-run", "--db", "/srv/fazt%data/fazt.db", "--http", ":8080", "--user", "web"]);
  expect(r.code).toBe(0);
  const k = unitKeys(r.stdout);
  expect(k.get("ExecStart")).toEqual(["/usr/local/bin/fazt serve --db /srv/fazt%%data/fazt.db --http :8080"]);
  expect(k.get("User")).toEqual(["web"]);
  for (const bad of [["--user", "root;rm"], ["--db", "/srv/my data/fazt.db"], ["--domain", "not a domain"]]) {
    const b = await runFazt(["service", "install", "--dry-run", ...bad]);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain(bad[0]!);
  }
});

test("systemd-analyze verify accepts the unit without a warning", async () => {
  const which = Bun.spawnSync(["which", "systemd-analyze"]);
  if (which.exitCode !== 0) throw new Error("systemd-analyze missing: .ci/run installs Debian systemd");
  const dir = tempDir("fazt-unit-");
  dirs.push(dir);
  // ExecStart must name an executable that exists for verify: the source tree's bun stands in for it.
  const r = await runFazt(["service", "install", "--dry-run", "--binary", process.execPath, "--db", join(dir, "data/fazt.db"), "--domain", "example.com"]);
  expect(r.code).toBe(0);
  const unit = join(dir, "fazt.service");
  await Bun.write(unit, r.stdout);
  const v = Bun.spawnSync(["systemd-analyze", "verify", unit], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  // verify exits 0 even for unknown keys or bad values; its warnings go to stderr.
  expect({ code: v.exitCode, out: v.stdout.toString() + v.stderr.toString() }).toEqual({ code: 0, out: "" });
  // The check itself is not blind: a misspelt key is reported.
  await Bun.write(unit, r.stdout.replace("ProtectSystem=strict", "ProtectSytem=strict"));
  const bad = Bun.spawnSync(["systemd-analyze", "verify", unit], { stdout: "pipe", stderr: "pipe" });
  expect(bad.stderr.toString()).toContain("Unknown key 'ProtectSytem'");
});

test("uninstall without an installed unit says so and changes nothing", async () => {
  if (await Bun.file("/etc/systemd/system/fazt.service").exists()) throw new Error("a real fazt.service is installed on this machine");
  const r = await runFazt(["service", "uninstall"]);
  expect(r.code).toBe(1);
  expect(r.stderr).toContain("the service is not installed");
});
