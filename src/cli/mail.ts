// `fazt mail send|outbox|inbox|show`: client commands on the mail API.
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import type { CommandBody } from "./command.ts";
import { str, UsageError } from "./command.ts";
import { Client, clientFlags, table } from "./client.ts";
import { formatSize } from "../core/bytes.ts";

/** A message as the mail API lists it; one message (GET …/:id) adds the optional details. */
interface MessageView {
  id: string;
  from: string;
  to: string[];
  subject: string;
  status?: string;
  body?: string;
  attempts?: number;
  created_at?: string;
  received_at?: string;
  last_error?: string | null;
  provider_id?: string | null;
  attempt_log?: { attempt: number; started_at: string; outcome: string; status_code?: number | null; error?: string | null }[];
  source?: string;
  attachments?: { index: number; filename: string; content_type: string; size: number; url: string }[];
  text?: string | null;
}

const list = (v: unknown) => (v as string[] | undefined) ?? [];

export const mailSendCommand: CommandBody = {
  usage: "--from ADDR --to ADDR... --subject S [--text T | --text-file F] [--html-file F] [--attach FILE]...",
  maxArgs: 0,
  flags: {
    ...clientFlags,
    from: { type: "string", description: "sender, on a domain a site owns", noEnv: true },
    to: { type: "string", multiple: true, description: "recipient (repeatable)", noEnv: true },
    cc: { type: "string", multiple: true, description: "copy (repeatable)", noEnv: true },
    subject: { type: "string", description: "subject line", noEnv: true },
    text: { type: "string", description: "plain text body", noEnv: true },
    "text-file": { type: "string", description: "plain text body from a file", noEnv: true },
    "html-file": { type: "string", description: "HTML body from a file", noEnv: true },
    attach: { type: "string", multiple: true, description: "a file to attach (repeatable)", noEnv: true },
  },
  async run(args) {
    const from = str(args, "from");
    const subject = str(args, "subject");
    const to = list(args.flags.to);
    if (!from || !subject || to.length === 0) throw new UsageError("--from, --to and --subject are required");
    const textFile = str(args, "text-file");
    const htmlFile = str(args, "html-file");
    const text = textFile ? readFileSync(textFile, "utf8") : str(args, "text");
    const html = htmlFile ? readFileSync(htmlFile, "utf8") : undefined;
    if (text === undefined && html === undefined) throw new UsageError("a body is required: --text, --text-file or --html-file");
    const attachments = list(args.flags.attach).map((file) => ({
      filename: basename(file),
      content: readFileSync(file).toString("base64"),
    }));
    const body = { from, to, cc: list(args.flags.cc), subject, text, html, ...(attachments.length ? { attachments } : {}) };
    const { id } = await Client.from(args).request<{ id: string }>("POST", "/api/mail", body);
    process.stdout.write(`queued ${id}\n`);
  },
};

export const mailOutboxCommand: CommandBody = {
  usage: "[--status queued|sending|sent|failed] [--limit N]",
  maxArgs: 0,
  flags: {
    ...clientFlags,
    status: { type: "string", description: "only this status", noEnv: true },
    limit: { type: "string", description: "how many (default 50)", noEnv: true },
  },
  async run(args) {
    const q = new URLSearchParams();
    if (str(args, "status")) q.set("status", str(args, "status")!);
    if (str(args, "limit")) q.set("limit", str(args, "limit")!);
    const { messages } = await Client.from(args).request<{ messages: MessageView[] }>("GET", `/api/mail/outbox?${q}`);
    if (messages.length === 0) return void process.stdout.write("no mail\n");
    const rows = messages.map((m) => [m.id, m.status!, String(m.attempts), m.created_at!, m.to.join(","), m.subject]);
    process.stdout.write(table([["ID", "STATUS", "TRIES", "CREATED", "TO", "SUBJECT"], ...rows]));
  },
};

export const mailInboxCommand: CommandBody = {
  usage: "[--site NAME] [--to ADDR] [--limit N]",
  maxArgs: 0,
  flags: {
    ...clientFlags,
    site: { type: "string", description: "only this site's mail", noEnv: true },
    to: { type: "string", description: "only mail whose recipients contain this", noEnv: true },
    limit: { type: "string", description: "how many (default 50)", noEnv: true },
  },
  async run(args) {
    const q = new URLSearchParams();
    for (const k of ["site", "to", "limit"]) if (str(args, k)) q.set(k, str(args, k)!);
    const { messages } = await Client.from(args).request<{ messages: MessageView[] }>("GET", `/api/mail/inbox?${q}`);
    if (messages.length === 0) return void process.stdout.write("no mail\n");
    const rows = messages.map((m) => [m.id, m.received_at!, m.from, m.to.join(","), m.subject]);
    process.stdout.write(table([["ID", "RECEIVED", "FROM", "TO", "SUBJECT"], ...rows]));
  },
};

export const mailShowCommand: CommandBody = {
  usage: "ID",
  minArgs: 1,
  maxArgs: 1,
  flags: { ...clientFlags, json: { type: "boolean", description: "the API's JSON", noEnv: true } },
  async run(args) {
    const id = args.positionals[0]!;
    const kind = id.startsWith("out_") ? "outbox" : id.startsWith("in_") ? "inbox" : null;
    if (!kind) throw new UsageError(`"${id}" is not a message id (out_... or in_...)`);
    const m = await Client.from(args).request<MessageView>("GET", `/api/mail/${kind}/${encodeURIComponent(id)}`);
    if (args.flags.json) return void process.stdout.write(`${JSON.stringify(m, null, 2)}\n`);
    const lines = [`id:      ${m.id}`, `from:    ${m.from}`, `to:      ${m.to.join(", ")}`, `subject: ${m.subject}`];
    if (kind === "outbox") {
      lines.push(`status:  ${m.status}${m.provider_id ? ` (${m.provider_id})` : ""}${m.last_error ? `: ${m.last_error}` : ""}`);
      for (const a of m.attempt_log ?? [])
        lines.push(
          `  attempt ${a.attempt} ${a.started_at} ${a.outcome}${a.status_code ? ` ${a.status_code}` : ""}${a.error ? `: ${a.error}` : ""}`,
        );
    } else {
      lines.push(`date:    ${m.received_at} (${m.source})`);
      for (const a of m.attachments ?? [])
        lines.push(`  attachment ${a.index}: ${a.filename} (${a.content_type}, ${formatSize(a.size)}) ${a.url}`);
      lines.push("", m.text ?? (m.body === "pending" ? "(body still being fetched)" : "(no text part)"));
    }
    process.stdout.write(`${lines.join("\n")}\n`);
  },
};
