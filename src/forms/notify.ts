// The notification mail of a submission, queued in the outbox in the
// submission's own transaction (so it is sent once, or not at all with it).
// The sender is forms@ a domain the site owns: its first custom domain, else
// NAME.DOMAIN under --domain; a site with neither cannot notify (the settings
// API says so).
import type { Site } from "../sites/index.ts";
import { parseAddress, type MailInput } from "../mail/index.ts";

const MAX_VALUE_CHARS = 2000;
const MAX_TEXT_CHARS = 100_000;

export function formSender(site: Pick<Site, "name" | "domains">, baseDomain: string | null): string | null {
  const domain = [...site.domains].sort()[0] ?? (baseDomain ? `${site.name}.${baseDomain}` : null);
  return domain ? `Fazt forms <forms@${domain}>` : null;
}

export function noSenderMessage(siteName: string): string {
  return `form notifications are sent from forms@ a domain site ${siteName} owns: add a custom domain, or run the server with --domain`;
}

/** A field that names the submitter's address becomes Reply-To. */
function replyTo(fields: [string, string][]): string | null {
  const f = fields.find(([name, value]) => /^(e-?mail|_replyto)$/i.test(name) && parseAddress(value) !== null);
  return f ? parseAddress(f[1])!.address : null;
}

interface NotificationInput {
  siteName: string;
  form: string;
  id: string;
  fields: [string, string][];
  files: { filename: string; size: number }[];
  from: string;
  to: string[];
}

export function notification(n: NotificationInput): MailInput {
  const lines = [`A new submission to form "${n.form}" on site ${n.siteName} (${n.id}).`, ""];
  for (const [name, value] of n.fields) {
    const shown = value.length > MAX_VALUE_CHARS ? `${value.slice(0, MAX_VALUE_CHARS)}… (${value.length} characters)` : value;
    lines.push(`${name}: ${shown.replace(/\r?\n/g, "\n  ")}`);
  }
  for (const f of n.files) lines.push(`file: ${f.filename} (${f.size} bytes)`);
  let text = `${lines.join("\n")}\n`;
  if (text.length > MAX_TEXT_CHARS) text = `${text.slice(0, MAX_TEXT_CHARS)}\n… (cut; the whole submission is in Fazt)\n`;
  const reply = replyTo(n.fields);
  return {
    from: n.from,
    to: n.to,
    subject: `New submission: ${n.form} on ${n.siteName}`,
    text,
    ...(reply ? { reply_to: [reply] } : {}),
  } as MailInput;
}
