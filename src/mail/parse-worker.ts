// A worker thread that parses received messages with mailparser (parse.ts):
// decoding a message of megabytes must not hold the server's event loop.
import { simpleParser, type AddressObject } from "mailparser";
import type { ParseAnswer } from "./parse.ts";
import { answerCalls } from "./thread.ts";

function addressText(a: AddressObject | AddressObject[] | undefined): string {
  if (!a) return "";
  return (Array.isArray(a) ? a : [a]).map((x) => x.text).join(", ");
}

async function parse(raw: Uint8Array): Promise<ParseAnswer> {
  try {
    const parsed = await simpleParser(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength), {
      skipImageLinks: true,
      skipTextToHtml: true,
    });
    return {
      from: addressText(parsed.from),
      subject: parsed.subject ?? "",
      messageId: parsed.messageId ?? null,
      text: parsed.text ?? null,
      html: typeof parsed.html === "string" ? parsed.html : null,
      headerLines: parsed.headerLines.slice(0, 200).map((h) => ({ key: h.key, line: h.line })),
      // A copy of exactly its bytes: a Buffer may be a view into a larger one, which would all cross to the main thread.
      attachments: parsed.attachments.map((a) => ({
        filename: a.filename ?? "attachment",
        contentType: a.contentType || "application/octet-stream",
        content: new Uint8Array(a.content),
      })),
    };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

answerCalls(parse);
