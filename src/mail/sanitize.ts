// Received HTML shown back to a user must not run script or load what the
// sender chooses. sanitize-html (maintained, htmlparser2-based, no DOM needed
// under Bun) keeps an allow-list of tags and attributes; on top of its
// defaults we allow images, but only inline ones (cid: parts, data: URIs), so
// opening a mail never pings a tracking pixel.
import sanitizeHtml from "sanitize-html";
import { log } from "../log/index.ts";
import { WorkerThread, workerEntry } from "./thread.ts";

const OPTIONS: sanitizeHtml.IOptions = {
  allowedTags: [...sanitizeHtml.defaults.allowedTags, "img"],
  allowedAttributes: {
    ...sanitizeHtml.defaults.allowedAttributes,
    img: ["src", "alt", "width", "height"],
    a: ["href", "name", "title"],
    td: ["colspan", "rowspan", "align"],
    th: ["colspan", "rowspan", "align"],
  },
  allowedSchemes: ["http", "https", "mailto"],
  allowedSchemesByTag: { img: ["cid", "data"] },
  transformTags: { a: sanitizeHtml.simpleTransform("a", { rel: "noopener noreferrer", target: "_blank" }) },
};

/** Larger HTML is not sanitised (the text part is shown instead): bounds the CPU one message costs. */
const MAX_SANITISED_CHARS = 1024 * 1024;

export function sanitizeMailHtml(html: string | null): string | null {
  if (html === null || html.length > MAX_SANITISED_CHARS) return null;
  return sanitizeHtml(html, OPTIONS);
}

/** Sanitises off the event loop, in one worker thread started on first use. */
export class Sanitizer {
  private readonly thread: WorkerThread<string, string | null>;

  constructor(entry: string = workerEntry("sanitize-worker.ts")) {
    this.thread = new WorkerThread(entry, "the HTML sanitiser");
  }

  /** Null when there is nothing to show as HTML (too large, unparseable, or the worker failed: shown as text only). */
  async sanitize(html: string | null): Promise<string | null> {
    if (html === null || html.length > MAX_SANITISED_CHARS) return null;
    try {
      return await this.thread.call(html);
    } catch (err) {
      log.error("mail: the HTML sanitiser failed", { err: (err as Error).message });
      return null;
    }
  }

  stop(): void {
    this.thread.stop();
  }
}
