// fazt's command line: dispatch, help and exit codes (0 ok, 1 failure, 2 usage).
// Each command's module is imported only when that command runs, so `fazt version`
// and `fazt --help` do not load the server, the database or the HTTP client.
import { type Command, type CommandBody, commandHelp, parseCommandArgs, UsageError } from "./command.ts";
import { versionLine } from "../core/version.ts";

interface CommandEntry {
  name: string; // "serve", "token create"
  summary: string;
  load(): Promise<CommandBody>;
}

const versionCommand: CommandBody = {
  usage: "",
  maxArgs: 0,
  flags: {},
  run() {
    process.stdout.write(`${versionLine()}\n`);
  },
};

export const COMMANDS: CommandEntry[] = [
  {
    name: "serve",
    summary: "Run the Fazt server: sites, admin API and UI, HTTPS, mail.",
    load: async () => (await import("./serve.ts")).serveCommand,
  },
  { name: "version", summary: "Print the version, commit and build date.", load: async () => versionCommand },
  {
    name: "token create",
    summary: "Create an API token (admin, or for one site with --site). The token is the last line of output.",
    load: async () => (await import("./local.ts")).tokenCreateCommand,
  },
  {
    name: "token list",
    summary: "List API tokens: id, scope, label, created, last used (never the secret).",
    load: async () => (await import("./local.ts")).tokenListCommand,
  },
  {
    name: "token revoke",
    summary: "Revoke a token by its id (from 'fazt token list') or by the token itself.",
    load: async () => (await import("./local.ts")).tokenRevokeCommand,
  },
  {
    name: "user create",
    summary: "Create an admin user for the web UI.",
    load: async () => (await import("./users.ts")).userCreateCommand,
  },
  {
    name: "user passwd",
    summary: "Set a user's password; ends that user's sessions.",
    load: async () => (await import("./users.ts")).userPasswdCommand,
  },
  { name: "user rm", summary: "Remove a user; ends that user's sessions.", load: async () => (await import("./users.ts")).userRmCommand },
  {
    name: "user list",
    summary: "List the users of the web UI with their open sessions.",
    load: async () => (await import("./users.ts")).userListCommand,
  },
  {
    name: "backup",
    summary: "Write a consistent copy of the database (mode 0600) while the server runs; --gzip compresses it.",
    load: async () => (await import("./local.ts")).backupCommand,
  },
  {
    name: "restore",
    summary: "Check a backup, then make it the database (refused while a server has it open; the old file is kept).",
    load: async () => (await import("./local.ts")).restoreCommand,
  },
  {
    name: "litestream-config",
    summary: "Print a starting litestream.yml that replicates this database to --replica.",
    load: async () => (await import("./litestream.ts")).litestreamConfigCommand,
  },
  {
    name: "stats",
    summary: "Show a site's traffic: totals, daily series, top paths, referrers, browsers, OS, devices, status codes, path classes.",
    load: async () => (await import("./stats.ts")).statsCommand,
  },
  {
    name: "deploy",
    summary: "Deploy a folder (only changed files are uploaded) or a .tar/.tar.gz/.zip archive.",
    load: async () => (await import("./client.ts")).deployCommand,
  },
  { name: "sites", summary: "List sites.", load: async () => (await import("./client.ts")).sitesCommand },
  {
    name: "site add",
    summary: "Create a site (name: a DNS label), with optional custom domains.",
    load: async () => (await import("./client.ts")).siteAddCommand,
  },
  {
    name: "site set",
    summary: "Change a site's settings: spa, hsts, trailing_slash, not_found, headers.NAME, dotfiles, forms (no arguments: show them).",
    load: async () => (await import("./client.ts")).siteSetCommand,
  },
  {
    name: "site rm",
    summary: "Delete a site, its deploys and its content.",
    load: async () => (await import("./client.ts")).siteRmCommand,
  },
  {
    name: "deploys",
    summary: "A site's deploy history, newest first: live, previous (the rollback target), preview (never live).",
    load: async () => (await import("./client.ts")).deploysCommand,
  },
  {
    name: "rollback",
    summary: "Make an earlier deploy live (default: the one that was live before the live one; previews are skipped).",
    load: async () => (await import("./client.ts")).rollbackCommand,
  },
  {
    name: "mail send",
    summary: "Queue a mail (sent by the server through Resend).",
    load: async () => (await import("./mail.ts")).mailSendCommand,
  },
  { name: "mail outbox", summary: "Outgoing mail, newest first.", load: async () => (await import("./mail.ts")).mailOutboxCommand },
  { name: "mail inbox", summary: "Received mail, newest first.", load: async () => (await import("./mail.ts")).mailInboxCommand },
  {
    name: "mail show",
    summary: "One message: an outbox entry with its attempts (out_...) or received mail (in_...).",
    load: async () => (await import("./mail.ts")).mailShowCommand,
  },
  {
    name: "forms",
    summary: "A site's forms and their submission counts; with NAME its latest submissions (--csv: all of them as CSV).",
    load: async () => (await import("./forms.ts")).formsCommand,
  },
  {
    name: "service install",
    summary: "Install fazt as a hardened systemd service (its own user; --dry-run prints the unit).",
    load: async () => (await import("./service.ts")).serviceInstallCommand,
  },
  {
    name: "service uninstall",
    summary: "Stop and remove the systemd service (the database and the user are kept).",
    load: async () => (await import("./service.ts")).serviceUninstallCommand,
  },
  {
    name: "doctor",
    summary: "Check ports, DNS, certificates, database, disk and file modes; exit 1 when something is wrong.",
    load: async () => (await import("./doctor.ts")).doctorCommand,
  },
  {
    name: "upgrade",
    summary: "With --check: compare this version with the newest release (never upgrades by itself).",
    load: async () => (await import("./upgrade.ts")).upgradeCommand,
  },
];

function mainHelp(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(18)} ${c.summary}`);
  return [
    "fazt: a personal platform-as-a-service in one executable.",
    "",
    "Usage: fazt COMMAND [flags]",
    "",
    "Commands:",
    ...rows,
    "",
    "Run 'fazt COMMAND --help' for a command's flags.",
    "",
  ].join("\n");
}

/** Longest command name that prefixes argv ("token create" before "token"). */
function findCommand(argv: string[]): { entry: CommandEntry; rest: string[] } | null {
  let best: { entry: CommandEntry; rest: string[] } | null = null;
  for (const entry of COMMANDS) {
    const words = entry.name.split(" ");
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.entry.name.split(" ").length)) {
      best = { entry, rest: argv.slice(words.length) };
    }
  }
  return best;
}

export async function main(argv: string[]): Promise<number> {
  // Every file fazt writes is a database or a copy of one (keys, token hashes): private by default.
  process.umask(0o077);
  const first = argv[0];
  if (first === undefined) {
    process.stderr.write("fazt: missing command; run 'fazt --help'\n");
    return 2;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    process.stdout.write(mainHelp());
    return 0;
  }
  if (first === "--version") return (versionCommand.run({ flags: {}, positionals: [] }), 0);
  const found = findCommand(argv);
  if (!found) {
    const group = COMMANDS.filter((c) => c.name.startsWith(`${first} `)).map((c) => c.name);
    const hint = group.length ? ` (try: ${group.join(", ")})` : "; run 'fazt --help'";
    process.stderr.write(`fazt: unknown command "${argv.slice(0, group.length ? 2 : 1).join(" ")}"${hint}\n`);
    return 2;
  }
  const { entry, rest } = found;
  const cmd: Command = { name: entry.name, summary: entry.summary, ...(await entry.load()) };
  try {
    const args = parseCommandArgs(cmd, rest);
    if (args.flags.help) {
      process.stdout.write(commandHelp(cmd));
      return 0;
    }
    return (await cmd.run(args)) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`fazt ${cmd.name}: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`fazt ${cmd.name}: ${(err as Error).message}\n`);
    return 1;
  }
}
