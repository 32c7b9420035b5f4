// The admin web UI: static files from public/ (and uPlot from npm), embedded
// in the binary by `with { type: "file" }` imports, answered at / and /ui/* on
// the admin host with a strict Content-Security-Policy (scripts and styles
// from this origin only, no inline code, no framing).
import indexHtmlFile from "../../public/index.html" with { type: "file" };
import appCss from "../../public/app.css" with { type: "file" };
import appJs from "../../public/js/app.js" with { type: "file" };
import apiJs from "../../public/js/api.js" with { type: "file" };
import domJs from "../../public/js/dom.js" with { type: "file" };
import sitesJs from "../../public/js/sites.js" with { type: "file" };
import siteJs from "../../public/js/site.js" with { type: "file" };
import uploadJs from "../../public/js/upload.js" with { type: "file" };
import analyticsJs from "../../public/js/analytics.js" with { type: "file" };
import formsJs from "../../public/js/forms.js" with { type: "file" };
import tokensJs from "../../public/js/tokens.js" with { type: "file" };
import systemJs from "../../public/js/system.js" with { type: "file" };
import mailJs from "../../public/js/mail.js" with { type: "file" };
import uplotJs from "uplot/dist/uPlot.iife.min.js" with { type: "file" };
import uplotCss from "uplot/dist/uPlot.min.css" with { type: "file" };
import { etagMatches, pathStart } from "../serve/http.ts";

// Bun's types describe an HTML import as a bundle; with type "file" it is the file's path.
const indexHtml = indexHtmlFile as unknown as string;

const JS = "text/javascript; charset=utf-8";
const CSS = "text/css; charset=utf-8";

/** URL path -> embedded file and its type. */
const FILES: Record<string, [string, string]> = {
  "/": [indexHtml, "text/html; charset=utf-8"],
  "/ui/app.css": [appCss, CSS],
  "/ui/js/app.js": [appJs, JS],
  "/ui/js/api.js": [apiJs, JS],
  "/ui/js/dom.js": [domJs, JS],
  "/ui/js/sites.js": [sitesJs, JS],
  "/ui/js/site.js": [siteJs, JS],
  "/ui/js/upload.js": [uploadJs, JS],
  "/ui/js/analytics.js": [analyticsJs, JS],
  "/ui/js/forms.js": [formsJs, JS],
  "/ui/js/tokens.js": [tokensJs, JS],
  "/ui/js/system.js": [systemJs, JS],
  "/ui/js/mail.js": [mailJs, JS],
  "/ui/uplot.js": [uplotJs, JS],
  "/ui/uplot.css": [uplotCss, CSS],
};

const UI_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  // Revalidated on every load (a 304 when unchanged), so a new binary's UI is seen at once.
  "cache-control": "no-cache",
};

interface Asset {
  body: Uint8Array;
  /** Gzipped once at start: the UI is mostly text. */
  gzip: Uint8Array;
  headers: Record<string, string>;
  gzipHeaders: Record<string, string>;
  etag: string;
}

/** Every asset, read once at start (they are small) with its ETag. */
async function loadAssets(): Promise<Map<string, Asset>> {
  const assets = new Map<string, Asset>();
  for (const [path, [file, type]] of Object.entries(FILES)) {
    const body = new Uint8Array(await Bun.file(file).arrayBuffer());
    const etag = `"${new Bun.CryptoHasher("sha256").update(body).digest("base64url").slice(0, 22)}"`;
    const headers = { ...UI_HEADERS, "content-type": type, etag, vary: "accept-encoding" };
    const gzipHeaders = { ...headers, "content-encoding": "gzip", etag: `"${etag.slice(1, -1)}-gz"` };
    assets.set(path, { body, gzip: Bun.gzipSync(body), etag, headers, gzipHeaders });
  }
  return assets;
}

/** The total size of the UI's embedded files (bytes). */
export async function uiBytes(): Promise<number> {
  let total = 0;
  for (const asset of (await loadAssets()).values()) total += asset.body.byteLength;
  return total;
}

type UiHandler = (req: Request) => Response | Promise<Response> | null;

/** Answers the UI's paths; null for every other path (the API's). */
export function createUi(): UiHandler {
  const loaded = loadAssets();
  return (req) => {
    if (req.method !== "GET" && req.method !== "HEAD") return null;
    const start = pathStart(req.url);
    const q = req.url.indexOf("?", start);
    const path = req.url.slice(start, q < 0 ? undefined : q);
    if (path !== "/" && !path.startsWith("/ui/")) return null;
    return loaded.then((assets) => {
      const asset = assets.get(path);
      if (!asset) return Response.json({ error: { code: "not_found", message: "no such file" } }, { status: 404 });
      const gzip = /\bgzip\b/.test(req.headers.get("accept-encoding") ?? "");
      const headers = gzip ? asset.gzipHeaders : asset.headers;
      const inm = req.headers.get("if-none-match");
      if (inm !== null && etagMatches(inm, asset.etag.slice(1, -1))) return new Response(null, { status: 304, headers });
      return new Response(req.method === "HEAD" ? null : gzip ? asset.gzip : asset.body, { headers });
    });
  };
}
