// A tiny command framework over node:util parseArgs: every flag can also come
// from FAZT_<FLAG> (dashes as underscores), bad usage exits 2, failures exit 1.
import { parseArgs } from "node:util";

export class UsageError extends Error {}

export interface FlagSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  description: string;
  default?: string;
  /** Not read from the environment (for example secrets read from stdin). */
  noEnv?: boolean;
}

export interface ParsedArgs {
  flags: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** What a command's module defines; the registry (cli/index.ts) adds its name and summary. */
export interface CommandBody {
  usage: string; // after "fazt NAME"
  flags: Record<string, FlagSpec>;
  minArgs?: number;
  maxArgs?: number;
  // biome-ignore lint/suspicious/noConfusingVoidType: a command returns an exit code, or nothing for 0
  run(args: ParsedArgs): Promise<number | void> | number | void;
}

export interface Command extends CommandBody {
  name: string; // "serve", "token create"
  summary: string;
}

const GLOBAL_FLAGS: Record<string, FlagSpec> = {
  help: { type: "boolean", short: "h", description: "show this help", noEnv: true },
};

function envName(flag: string): string {
  return `FAZT_${flag.toUpperCase().replaceAll("-", "_")}`;
}

export function parseCommandArgs(cmd: Command, argv: string[], env = process.env): ParsedArgs {
  const specs = { ...cmd.flags, ...GLOBAL_FLAGS };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      options: Object.fromEntries(
        Object.entries(specs).map(([k, s]) => [k, { type: s.type, multiple: s.multiple ?? false, ...(s.short ? { short: s.short } : {}) }]),
      ),
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split(/\.( |$)/)[0]!);
  }
  const flags = { ...parsed.values } as ParsedArgs["flags"];
  if (flags.help) return { flags, positionals: parsed.positionals };
  for (const [k, s] of Object.entries(specs)) {
    if (flags[k] !== undefined) continue;
    const fromEnv = s.noEnv ? undefined : env[envName(k)];
    if (fromEnv !== undefined && fromEnv !== "") {
      if (s.type === "boolean") flags[k] = !["0", "false", "no", "off"].includes(fromEnv.toLowerCase());
      else flags[k] = s.multiple ? fromEnv.split(",") : fromEnv;
    } else if (s.default !== undefined) flags[k] = s.default;
  }
  const n = parsed.positionals.length;
  if (cmd.minArgs !== undefined && n < cmd.minArgs) throw new UsageError(`missing argument: fazt ${cmd.name} ${cmd.usage}`);
  if (cmd.maxArgs !== undefined && n > cmd.maxArgs) throw new UsageError(`unexpected argument "${parsed.positionals[cmd.maxArgs]}"`);
  return { flags, positionals: parsed.positionals };
}

export function commandHelp(cmd: Command): string {
  const lines = [`Usage: fazt ${cmd.name} ${cmd.usage}`.trimEnd(), "", cmd.summary, "", "Flags:"];
  for (const [k, s] of Object.entries({ ...cmd.flags, ...GLOBAL_FLAGS })) {
    const left = `  ${s.short ? `-${s.short}, ` : ""}--${k}${s.type === "string" ? " VALUE" : ""}`;
    const env = s.noEnv ? "" : ` [env ${envName(k)}]`;
    const def = s.default !== undefined ? ` (default ${s.default})` : "";
    lines.push(`${left.padEnd(30)} ${s.description}${def}${env}`);
  }
  return `${lines.join("\n")}\n`;
}

export function str(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags[name];
  return typeof v === "string" ? v : undefined;
}
