// `fazt forms SITE [NAME] [--csv]`: a site's forms with their counts, one
// form's latest submissions, or all of them as CSV on stdout.
import type { CommandBody } from "./command.ts";
import { UsageError } from "./command.ts";
import { Client, clientFlags, table } from "./client.ts";

interface FormView {
  name: string;
  declared: string[];
  notify: string[];
  submissions: number;
  last_at: string | null;
}

interface SubmissionView {
  id: string;
  created_at: string;
  fields: { name: string; value: string }[];
  files: { filename: string; size: number }[];
}

/** One line per submission: its fields, long values shortened, line breaks shown as ⏎. */
function summary(s: SubmissionView): string {
  const fields = s.fields.map((f) => `${f.name}=${f.value.length > 60 ? `${f.value.slice(0, 59)}…` : f.value}`.replace(/\r?\n/g, "⏎"));
  const files = s.files.map((f) => `file:${f.filename}`);
  return [...fields, ...files].join("  ");
}

export const formsCommand: CommandBody = {
  usage: "SITE [NAME] [--limit N] [--csv] [--json]",
  minArgs: 1,
  maxArgs: 2,
  flags: {
    ...clientFlags,
    csv: { type: "boolean", description: "all submissions of form NAME as CSV (RFC 4180) on stdout", noEnv: true },
    json: { type: "boolean", description: "print the API's JSON", noEnv: true },
    limit: { type: "string", description: "submissions shown (default 20, at most 200)", noEnv: true },
  },
  async run(args) {
    const [site, form] = args.positionals as [string, string | undefined];
    const client = Client.from(args);
    const base = `/api/sites/${encodeURIComponent(site)}/forms`;
    if (args.flags.csv) {
      if (!form) throw new UsageError("--csv needs a form NAME");
      const res = await client.download(`${base}/${encodeURIComponent(form)}/submissions?format=csv`);
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) process.stdout.write(chunk);
      return;
    }
    if (!form) {
      const r = await client.request<{ forms: FormView[]; sender: string | null }>("GET", base);
      if (args.flags.json) return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      if (r.forms.length === 0) {
        return void process.stdout.write("no forms: declare one with data-fazt-form in the HTML or in the site's settings\n");
      }
      const rows = r.forms.map((f) => [
        f.name,
        f.declared.join(",") || "(not declared)",
        String(f.submissions),
        f.last_at ?? "-",
        f.notify.join(","),
      ]);
      return void process.stdout.write(table([["FORM", "DECLARED", "SUBMISSIONS", "LAST", "NOTIFY"], ...rows]));
    }
    const limit = (args.flags.limit as string | undefined) ?? "20";
    const r = await client.request<{ submissions: SubmissionView[]; next: string | null }>(
      "GET",
      `${base}/${encodeURIComponent(form)}/submissions?limit=${encodeURIComponent(limit)}`,
    );
    if (args.flags.json) return void process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
    if (r.submissions.length === 0) return void process.stdout.write("no submissions yet\n");
    process.stdout.write(table([["ID", "RECEIVED", "FIELDS"], ...r.submissions.map((s) => [s.id, s.created_at, summary(s)])]));
    if (r.next) process.stdout.write(`(more: fazt forms ${site} ${form} --csv gives all of them)\n`);
  },
};
