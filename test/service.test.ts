// fazt service install --dry-run: the unit it would write, checked line by line
// and by systemd's own parser (systemd-analyze verify, installed by .ci/run).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
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
  expect(k.get("ExecStart")).toEqual([
    "/usr/local/bin/fazt serve --db /var/lib/fazt/fazt.db --domain example.com --acme-email ops@example.com",
  ]);
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
  for (const bad of [
    ["--user", "root;rm"],
    ["--db", "/srv/my data/fazt.db"],
    ["--domain", "not a domain"],
  ]) {
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
  const r = await runFazt([
    "service",
    "install",
    "--dry-run",
    "--binary",
    process.execPath,
    "--db",
    join(dir, "data/fazt.db"),
    "--domain",
    "example.com",
  ]);
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

test("install and uninstall refuse to run as a normal user", async () => {
  for (const [cmd, hint] of [
    ["install", "needs root (run it with sudo), or use --dry-run"],
    ["uninstall", "needs root (run it with sudo)"],
  ] as const) {
    const p = Bun.spawnSync(
      ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, join(ROOT, "src/main.ts"), "service", cmd],
      {
        cwd: "/",
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    expect({ code: p.exitCode, err: p.stderr.toString() }).toEqual({ code: 1, err: `fazt service ${cmd}: ${hint}\n` });
  }
});

test("without systemd running (no /run/systemd/system) install refuses and changes nothing", async () => {
  if (await Bun.file("/run/systemd/system").exists()) return; // a machine with systemd: the namespace test covers it
  const r = await runFazt(["service", "install", "--db", "/nonexistent/fazt.db"]);
  expect({ code: r.code, err: r.stderr }).toEqual({
    code: 1,
    err: "fazt service install: systemd is not running on this machine (no /run/systemd/system), or use --dry-run\n",
  });
});

// A real install and uninstall as root, in a private mount namespace: /etc is a copy
// (useradd writes the copy), /usr/local/bin and /run are empty tmpfs, /run/systemd/system
// says systemd runs, and `systemctl` is a script that logs its arguments.
let built = "";
beforeAll(() => {
  const dir = tempDir("fazt-svc-bin-");
  dirs.push(dir);
  built = join(dir, "fazt");
  const r = Bun.spawnSync([process.execPath, "build.ts"], {
    cwd: ROOT,
    env: { ...process.env, FAZT_OUTFILE: built },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr}`);
}, 120_000);

test("install creates the user, a 0700 folder, the binary and the unit; uninstall removes the unit", () => {
  const t = tempDir("fazt-svc-");
  dirs.push(t);
  const script = `
    set -u
    T=${t}; BIN=${built}; DB=$T/data/fazt.db
    chmod 755 $T $(dirname $BIN)   # like /var/lib and /usr/local/bin: others may pass through
    mkdir $T/etc $T/fakebin && cp -a /etc/. $T/etc/ && mount --bind $T/etc /etc
    mount -t tmpfs tmpfs /usr/local/bin && mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system
    printf '#!/bin/sh\necho "$*" >> %s/systemctl.log\n' "$T" > $T/fakebin/systemctl && chmod +x $T/fakebin/systemctl
    export PATH=$T/fakebin:$PATH
    cd /
    $BIN service install --db $DB --domain example.com > $T/install.out 2>&1; echo "install=$?"
    $BIN service install --db $DB --domain example.com > $T/again.out 2>&1; echo "again=$?"
    $BIN service install --dry-run --db $DB --domain example.com > $T/dry.out
    cp /etc/systemd/system/fazt.service $T/written.service
    echo "passwd=$(getent passwd fazt)"
    echo "folder=$(stat -c '%a %U %G' $T/data)"
    echo "binary=$(stat -c '%a %s' /usr/local/bin/fazt) $(stat -c %s $BIN)"
    setpriv --reuid=fazt --regid=fazt --init-groups /usr/local/bin/fazt token create --db $DB > $T/token.out 2>&1; echo "token=$?"
    echo "db=$(stat -c '%U' $DB)"
    $BIN service uninstall > $T/uninstall.out 2>&1; echo "uninstall=$?"
    echo "unit_left=$(test -e /etc/systemd/system/fazt.service && echo yes || echo no)"
  `;
  const p = Bun.spawnSync(["unshare", "--mount", "--propagation", "private", "bash", "-c", script], { stdout: "pipe", stderr: "pipe" });
  const out = Object.fromEntries(
    p.stdout
      .toString()
      .trim()
      .split("\n")
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  ) as Record<string, string>;
  const read = (f: string) => readFileSync(join(t, f), "utf8");
  expect({ install: out.install, again: out.again }, read("install.out") + p.stderr.toString()).toEqual({ install: "0", again: "0" });
  expect(read("install.out")).toContain("created system user fazt");
  expect(read("install.out")).toContain("sudo systemctl enable --now fazt");
  expect(read("again.out")).not.toContain("created system user");
  expect(read("written.service")).toBe(read("dry.out"));
  const [name, , uid, , , home, shell] = out.passwd!.split(":");
  expect({ name, home, shell }).toEqual({ name: "fazt", home: join(t, "data"), shell: "/usr/sbin/nologin" });
  expect(Number(uid)).toBeLessThan(1000); // a system user
  expect(out.folder).toBe("700 fazt fazt");
  const [mode, size, original] = out.binary!.split(" ");
  expect({ mode, size }).toEqual({ mode: "755", size: original });
  // The service user can use its folder.
  expect({ token: out.token, db: out.db }, read("token.out")).toEqual({ token: "0", db: "fazt" });
  expect(out.uninstall).toBe("0");
  expect(out.unit_left).toBe("no");
  expect(read("uninstall.out")).toContain("the database folder, the binary and the system user are kept");
  expect(read("systemctl.log").trim().split("\n")).toEqual([
    "daemon-reload",
    "daemon-reload",
    "disable --now fazt.service",
    "daemon-reload",
  ]);
}, 60_000);
