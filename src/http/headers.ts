// Which response headers a site may set (from `_headers` or its settings):
// RFC 9110 field names, values a client can read (visible Latin-1, no CR/LF/NUL),
// and never the headers that frame the connection or the message.
const TOKEN_RE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Tab, visible ASCII and Latin-1 (obs-text); no control characters.
const VALUE_RE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Set by the server or the connection (hop-by-hop, RFC 9110 7.6.1 and the
 * older RFC 2616 list): a site setting them would break clients or proxies.
 */
const FORBIDDEN_HEADERS = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authenticate",
  "proxy-authorization",
  "transfer-encoding",
  "te",
  "trailer",
  "trailers",
  "upgrade",
  "content-length",
  "content-encoding",
  "content-range",
  "date",
  "etag",
  "host",
]);

const MAX_HEADER_VALUE_BYTES = 4096;

/** Why a header cannot be set, or null when it can. */
export function headerProblem(name: string, value: string): string | null {
  if (!TOKEN_RE.test(name)) return `"${name}" is not a valid header name`;
  if (FORBIDDEN_HEADERS.has(name.toLowerCase())) return `${name} is set by the server and cannot be configured`;
  if (!VALUE_RE.test(value)) return `the value of ${name} holds characters a header cannot carry (control or non-Latin-1)`;
  if (value.length > MAX_HEADER_VALUE_BYTES) return `the value of ${name} is longer than ${MAX_HEADER_VALUE_BYTES} bytes`;
  return null;
}
