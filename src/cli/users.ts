// `fazt user create|passwd|rm|list`: admin users of the web UI, on the database file directly.
// A changed password or a removed user ends that user's sessions at once.
import type { CommandBody, ParsedArgs } from "./command.ts";
import { str, UsageError } from "./command.ts";
import { dbFlag, openLocalStore } from "./common.ts";
import type { Store } from "../db/index.ts";
import { createUser, listUsers, removeUser, setPassword } from "../auth/users.ts";

const passwordFlags = {
  ...dbFlag,
  "password-stdin": { type: "boolean" as const, description: "read the password from standard input", noEnv: true },
};

/** From standard input with --password-stdin; else typed twice at the terminal, not echoed. */
async function readPassword(args: ParsedArgs): Promise<string> {
  if (args.flags["password-stdin"] === true) {
    const text = await new Response(Bun.stdin.stream()).text();
    return text.replace(/\r?\n$/, "");
  }
  if (!process.stdin.isTTY) throw new UsageError("no terminal to type a password: give it on standard input with --password-stdin");
  const first = await promptHidden("Password: ");
  if ((await promptHidden("Again: ")) !== first) throw new Error("the two passwords differ");
  return first;
}

function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(question);
  stdin.setRawMode(true);
  stdin.resume();
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = () => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
    };
    const onData = (data: Buffer) => {
      for (const ch of data.toString("utf8")) {
        if (ch === "\r" || ch === "\n") return (finish(), resolve(value));
        if (ch === "\u0003" || ch === "\u0004") return (finish(), reject(new Error("cancelled")));
        value = ch === "\u007f" || ch === "\b" ? value.slice(0, -1) : value + ch;
      }
    };
    stdin.on("data", onData);
  });
}

async function withStore<T>(args: ParsedArgs, fn: (store: Store) => Promise<T> | T): Promise<T> {
  const store = openLocalStore(str(args, "db")!);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

export const userCreateCommand: CommandBody = {
  usage: "NAME [--password-stdin]",
  minArgs: 1,
  maxArgs: 1,
  flags: passwordFlags,
  async run(args) {
    const name = args.positionals[0]!;
    const password = await readPassword(args);
    await withStore(args, (store) => createUser(store, name, password));
    process.stdout.write(`created user ${name}\n`);
  },
};

export const userPasswdCommand: CommandBody = {
  usage: "NAME [--password-stdin]",
  minArgs: 1,
  maxArgs: 1,
  flags: passwordFlags,
  async run(args) {
    const name = args.positionals[0]!;
    const password = await readPassword(args);
    const ended = await withStore(args, (store) => setPassword(store, name, password));
    process.stdout.write(`password of ${name} changed; ${ended} session(s) ended\n`);
  },
};

export const userRmCommand: CommandBody = {
  usage: "NAME",
  minArgs: 1,
  maxArgs: 1,
  flags: { ...dbFlag },
  async run(args) {
    const name = args.positionals[0]!;
    await withStore(args, (store) => removeUser(store, name));
    process.stdout.write(`removed user ${name}\n`);
  },
};

export const userListCommand: CommandBody = {
  usage: "",
  maxArgs: 0,
  flags: { ...dbFlag },
  async run(args) {
    const users = await withStore(args, listUsers);
    process.stdout.write(`${"NAME".padEnd(24) + "CREATED".padEnd(26)}SESSIONS\n`);
    for (const u of users) {
      process.stdout.write(`${u.name.padEnd(24)}${new Date(u.createdAt).toISOString().padEnd(26)}${u.sessions}\n`);
    }
  },
};
