// fazt service install|uninstall: run fazt under systemd as its own unprivileged
// user, allowed to bind ports 80 and 443 and to write only its database folder.
import { copyFileSync, existsSync, mkdirSync, chmodSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { CommandBody, ParsedArgs } from "./command.ts";
import { str, UsageError } from "./command.ts";

const UNIT_NAME = "fazt.service";
const UNIT_DIR = "/etc/systemd/system";
const DEFAULT_BINARY = "/usr/local/bin/fazt";
const DEFAULT_DB = "/var/lib/fazt/fazt.db";

interface UnitOptions {
  binary: string;
  db: string;
  user: string;
  /** `fazt serve` flags after --db, e.g. ["--domain", "example.com"]. */
  serveArgs: string[];
}

/** One ExecStart word: quoted when needed; % and $ escaped (systemd specifiers and variables). */
function execWord(word: string): string {
  const escaped = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(escaped) ? escaped : `"${escaped.replace(/(["\\])/g, "\\$1")}"`;
}

function systemdUnit(o: UnitOptions): string {
  const exec = [o.binary, "serve", "--db", o.db, ...o.serveArgs].map(execWord).join(" ");
  return `# Written by 'fazt service install'. Database: ${o.db}
[Unit]
Description=Fazt: sites, admin API and automatic HTTPS from one binary
After=network-online.target
Wants=network-online.target

[Service]
Type=simple
User=${o.user}
Group=${o.user}
ExecStart=${exec}
Restart=on-failure
RestartSec=2s
# SIGTERM drains requests and closes the database cleanly.
TimeoutStopSec=30s
LimitNOFILE=65536
UMask=0077

# Bind 80 and 443 without root, and nothing else a root process could do.
AmbientCapabilities=CAP_NET_BIND_SERVICE
CapabilityBoundingSet=CAP_NET_BIND_SERVICE
NoNewPrivileges=yes

# The whole file system read-only except the database folder.
ProtectSystem=strict
ReadWritePaths=${dirname(o.db)}
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
SystemCallArchitectures=native
# No MemoryDenyWriteExecute: the JavaScript JIT needs writable, executable memory.

[Install]
WantedBy=multi-user.target
`;
}

/** The `fazt serve` flags the unit passes on (only those given). */
function serveArgs(args: ParsedArgs): string[] {
  const out: string[] = [];
  for (const flag of ["domain", "acme-email", "http", "https"]) {
    const v = str(args, flag);
    if (v !== undefined && v !== "") out.push(`--${flag}`, v);
  }
  return out;
}

function sh(cmd: string[], allowFail = false): { ok: boolean; out: string } {
  const p = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  const ok = p.exitCode === 0;
  if (!ok && !allowFail) throw new Error(`${cmd.join(" ")} failed: ${p.stderr.toString().trim()}`);
  return { ok, out: p.stdout.toString() };
}

/** The running executable when it is a compiled fazt (not `bun src/main.ts`). */
function compiledBinary(): string | null {
  return Bun.main.startsWith("/$bunfs/") || Bun.main.startsWith("B:/~BUN/") ? process.execPath : null;
}

/** Root on a machine booted with systemd (sd_booted(3) looks for the same folder). */
function requireRootAndSystemd(alternative = ""): void {
  if (process.getuid?.() !== 0) throw new Error(`needs root (run it with sudo)${alternative}`);
  if (!existsSync("/run/systemd/system")) throw new Error(`systemd is not running on this machine (no /run/systemd/system)${alternative}`);
}

const USER_RE = /^[a-z_][a-z0-9_-]{0,31}$/;

export const serviceInstallCommand: CommandBody = {
  usage: "[--dry-run] [--db PATH] [--domain NAME] [--acme-email EMAIL]",
  maxArgs: 0,
  flags: {
    "dry-run": { type: "boolean", description: "print the unit and change nothing", noEnv: true },
    db: { type: "string", description: "the database the service uses", default: DEFAULT_DB, noEnv: true },
    domain: { type: "string", description: "passed to 'fazt serve --domain'", noEnv: true },
    "acme-email": { type: "string", description: "passed to 'fazt serve --acme-email'", noEnv: true },
    http: { type: "string", description: "passed to 'fazt serve --http'", noEnv: true },
    https: { type: "string", description: "passed to 'fazt serve --https'", noEnv: true },
    user: { type: "string", description: "system user the service runs as (created if missing)", default: "fazt", noEnv: true },
    binary: {
      type: "string",
      description: "where the service's fazt binary lives (this binary is copied there)",
      default: DEFAULT_BINARY,
      noEnv: true,
    },
  },
  run(args) {
    const user = str(args, "user")!;
    if (!USER_RE.test(user)) throw new UsageError(`--user: "${user}" is not a valid system user name`);
    const domain = str(args, "domain");
    if (domain !== undefined && !/^[a-z0-9.-]+\.[a-z0-9-]+$/i.test(domain)) throw new UsageError(`--domain: "${domain}" is not a hostname`);
    const db = resolve(str(args, "db")!);
    if (/[\s"\\]/.test(db)) throw new UsageError(`--db: "${db}": systemd paths may not contain spaces, quotes or backslashes`);
    const binary = resolve(str(args, "binary")!);
    const unit = systemdUnit({ binary, db, user, serveArgs: serveArgs(args) });
    if (args.flags["dry-run"] === true) {
      process.stdout.write(unit);
      return;
    }
    requireRootAndSystemd(", or use --dry-run");
    const self = compiledBinary();
    if (!existsSync(binary) || (self !== null && realpathSync(self) !== realpathSync(binary))) {
      if (self === null) throw new Error(`${binary} does not exist; run the compiled fazt binary, or copy it there first`);
      copyFileSync(self, binary);
      chmodSync(binary, 0o755);
      process.stdout.write(`copied ${self} to ${binary}\n`);
    }
    const folder = dirname(db);
    if (!sh(["id", "-u", user], true).ok) {
      sh(["useradd", "--system", "--user-group", "--home-dir", folder, "--no-create-home", "--shell", "/usr/sbin/nologin", user]);
      process.stdout.write(`created system user ${user}\n`);
    }
    mkdirSync(folder, { recursive: true });
    chmodSync(folder, 0o700);
    sh(["chown", `${user}:${user}`, folder]);
    writeFileSync(`${UNIT_DIR}/${UNIT_NAME}`, unit, { mode: 0o644 });
    sh(["systemctl", "daemon-reload"]);
    process.stdout.write(
      [
        `wrote ${UNIT_DIR}/${UNIT_NAME} (runs ${binary} as ${user}; database ${db}, folder mode 0700)`,
        "",
        "Next steps:",
        "  sudo systemctl enable --now fazt",
        "  sudo journalctl -u fazt | grep -A1 'admin token'   # the first admin token, printed once: keep it",
        `  sudo -u ${user} ${binary} doctor --db ${db}${domain ? ` --domain ${domain}` : ""}`,
        "",
      ].join("\n"),
    );
  },
};

export const serviceUninstallCommand: CommandBody = {
  usage: "",
  maxArgs: 0,
  flags: {},
  run() {
    requireRootAndSystemd();
    const path = `${UNIT_DIR}/${UNIT_NAME}`;
    if (!existsSync(path)) throw new Error(`${path} does not exist: the service is not installed`);
    sh(["systemctl", "disable", "--now", UNIT_NAME], true);
    rmSync(path);
    sh(["systemctl", "daemon-reload"]);
    process.stdout.write(`removed ${path}; the database folder, the binary and the system user are kept\n`);
  },
};
