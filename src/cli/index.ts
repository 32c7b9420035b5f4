// fazt's command line: dispatch, help and exit codes (0 ok, 1 failure, 2 usage).
import { type Command, commandHelp, parseCommandArgs, UsageError } from "./command.ts";
import { serveCommand } from "./serve.ts";
import { backupCommand, restoreCommand, tokenCreateCommand, tokenListCommand, tokenRevokeCommand } from "./local.ts";
import { userCommands } from "./users.ts";
import { statsCommand } from "./stats.ts";
import { litestreamConfigCommand } from "./litestream.ts";
import { VERSION } from "../core/version.ts";
import { clientCommands } from "./client.ts";
import { mailCommands } from "./mail.ts";
import { formsCommand } from "./forms.ts";

const versionCommand: Command = {
  name: "version",
  summary: "Print the version.",
  usage: "",
  maxArgs: 0,
  flags: {},
  run() {
    process.stdout.write(`${VERSION}\n`);
  },
};

export const COMMANDS: Command[] = [
  serveCommand,
  versionCommand,
  tokenCreateCommand,
  tokenListCommand,
  tokenRevokeCommand,
  ...userCommands,
  backupCommand,
  restoreCommand,
  litestreamConfigCommand,
  statsCommand,
  ...clientCommands,
  ...mailCommands,
  formsCommand,
];

function mainHelp(): string {
  const rows = COMMANDS.map((c) => `  ${c.name.padEnd(16)} ${c.summary}`);
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
function findCommand(argv: string[]): { cmd: Command; rest: string[] } | null {
  let best: { cmd: Command; rest: string[] } | null = null;
  for (const cmd of COMMANDS) {
    const words = cmd.name.split(" ");
    if (words.every((w, i) => argv[i] === w) && (!best || words.length > best.cmd.name.split(" ").length)) {
      best = { cmd, rest: argv.slice(words.length) };
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
    const group = COMMANDS.filter((c) => c.name.startsWith(first + " ")).map((c) => c.name);
    const hint = group.length ? ` (try: ${group.join(", ")})` : "; run 'fazt --help'";
    process.stderr.write(`fazt: unknown command "${argv.slice(0, group.length ? 2 : 1).join(" ")}"${hint}\n`);
    return 2;
  }
  const { cmd, rest } = found;
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
