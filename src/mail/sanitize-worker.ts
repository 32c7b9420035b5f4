// A worker thread that sanitises received HTML (sanitize.ts): a 1 MiB mail
// takes the better part of a second, which must not hold the server's event loop.
import { sanitizeMailHtml } from "./sanitize.ts";
import { answerCalls } from "./thread.ts";

answerCalls((html: string) => {
  try {
    return sanitizeMailHtml(html);
  } catch {
    return null; // unparseable: shown as text only
  }
});
