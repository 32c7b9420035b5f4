// Parsing a received message (mailparser) decodes every part in JavaScript: a
// message with a 16 MiB attachment took 160-330 ms, in pieces that held the
// event loop up to 250 ms. It runs in a worker thread (parse-worker.ts) that
// answers with the fields fazt keeps.
import { WorkerThread, workerEntry } from "./thread.ts";

export interface ParsedMail {
  from: string;
  subject: string;
  messageId: string | null;
  text: string | null;
  html: string | null;
  /** The first 200 header lines as received: the name (lower case) and the whole line. */
  headerLines: { key: string; line: string }[];
  attachments: { filename: string; contentType: string; content: Uint8Array }[];
}

export type ParseAnswer = ParsedMail | { error: string };

/** The longest one message may take to parse; past it, the message is refused for now (451) and the sender retries. */
const PARSE_TIMEOUT_MS = 60_000;

/** Parses off the event loop, in one worker thread started on first use. */
export class MailParser {
  private readonly thread: WorkerThread<Uint8Array, ParseAnswer>;

  constructor(entry: string = workerEntry("parse-worker.ts")) {
    this.thread = new WorkerThread(entry, "the mail parser");
  }

  async parse(raw: Uint8Array): Promise<ParsedMail> {
    const answer = await this.thread.call(raw, PARSE_TIMEOUT_MS);
    if ("error" in answer) throw new Error(`the message cannot be parsed: ${answer.error}`);
    return answer;
  }

  stop(): void {
    this.thread.stop();
  }
}
