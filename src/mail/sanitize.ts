// Received HTML shown back to a user must not run script or load what the
// sender chooses. sanitize-html (maintained, htmlparser2-based, no DOM needed
// under Bun) keeps an allow-list of tags and attributes; on top of its
// defaults we allow images, but only inline ones (cid: parts, data: URIs), so
// opening a mail never pings a tracking pixel.
import sanitizeHtml from "sanitize-html";
import { log } from "../log/index.ts";

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

// In the compiled binary the worker is its own entry point under /$bunfs/root/ (src/, see build.ts);
// from sources it sits beside this file. The binary is told by Bun.main: a minified build keeps
// import.meta.path as the build machine's source path, which does not exist where the binary runs.
const WORKER_ENTRY = Bun.main.startsWith("/$bunfs/")
  ? "/$bunfs/root/mail/sanitize-worker.ts"
  : new URL("./sanitize-worker.ts", import.meta.url).href;

/** Sanitises off the event loop, one worker thread started on first use. */
export class Sanitizer {
  private worker: Worker | null = null;
  private nextId = 0;
  private waiting = new Map<number, (html: string | null) => void>();

  constructor(private readonly entry: string = WORKER_ENTRY) {}

  sanitize(html: string | null): Promise<string | null> {
    if (html === null || html.length > MAX_SANITISED_CHARS) return Promise.resolve(null);
    const id = this.nextId++;
    const p = new Promise<string | null>((resolve) => this.waiting.set(id, resolve));
    this.start().postMessage({ id, html });
    return p;
  }

  stop(): void {
    this.worker?.terminate();
    this.worker = null;
    for (const resolve of this.waiting.values()) resolve(null);
    this.waiting.clear();
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.entry);
    w.onmessage = (e: MessageEvent<{ id: number; html: string | null }>) => {
      this.waiting.get(e.data.id)?.(e.data.html);
      this.waiting.delete(e.data.id);
    };
    // A worker that fails (to start, or later) must not leave a message waiting for ever: shown as text only.
    w.onerror = (e) => {
      log.error("mail: the HTML sanitiser failed", { err: e.message });
      this.stop();
    };
    w.unref();
    this.worker = w;
    return w;
  }
}
