// A worker thread that sanitises received HTML (sanitize.ts): a 1 MiB mail
// takes the better part of a second, which must not hold the server's event loop.
import { sanitizeMailHtml } from "./sanitize.ts";

declare const self: Worker;

self.onmessage = (e: MessageEvent<{ id: number; html: string }>) => {
  let html: string | null = null;
  try {
    html = sanitizeMailHtml(e.data.html);
  } catch {
    html = null; // unparseable: shown as text only
  }
  self.postMessage({ id: e.data.id, html });
};
