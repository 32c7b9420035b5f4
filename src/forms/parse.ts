// Parsing a form body the server already holds (read with a byte cap first):
// application/x-www-form-urlencoded and multipart/form-data (RFC 7578).
//
// Hand-written rather than busboy or Bun's FormData: both decode text
// lossily (invalid UTF-8 becomes U+FFFD), while Fazt refuses a body that is
// not UTF-8 instead of storing mangled text; and on a buffer that is already
// complete, parsing is a few native indexOf calls. Every count and size is
// checked as parts are found, so a refusal stops early and names its limit.
import { type HttpError, badRequest, limitError } from "../http/errors.ts";
import type { FormLimits } from "./limits.ts";

export interface Upload {
  field: string;
  filename: string;
  contentType: string;
  bytes: Uint8Array;
}

export interface ParsedForm {
  /** Text fields in the order sent (a name may repeat). */
  fields: [string, string][];
  files: Upload[];
}

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

function text(bytes: Uint8Array, what: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw badRequest(`${what} is not valid UTF-8 (send the form from a page with <meta charset="utf-8">)`, "invalid_encoding");
  }
}

/** Collects fields and files while checking every limit. */
class Collector {
  readonly form: ParsedForm = { fields: [], files: [] };

  constructor(private readonly limits: FormLimits) {}

  name(bytes: Uint8Array): string {
    if (bytes.length === 0) throw badRequest("a field has an empty name", "malformed_body");
    if (bytes.length > this.limits.nameBytes) {
      throw limitError("field_name_too_long", `a field name is longer than ${this.limits.nameBytes} bytes (limit: field name length)`);
    }
    return text(bytes, "a field name");
  }

  field(name: string, value: Uint8Array): void {
    if (this.form.fields.length >= this.limits.fields) {
      throw limitError("too_many_fields", `the form has more than ${this.limits.fields} fields (limit: field count)`);
    }
    if (value.length > this.limits.valueBytes) {
      const message = `field ${JSON.stringify(name)} is larger than ${this.limits.valueBytes} bytes (limit: field size)`;
      throw limitError("field_too_large", message);
    }
    this.form.fields.push([name, text(value, `field ${JSON.stringify(name)}`)]);
  }

  file(upload: Upload): void {
    if (this.form.files.length >= this.limits.files) {
      throw limitError("too_many_files", `the form has more than ${this.limits.files} files (limit: file count)`);
    }
    if (upload.bytes.length > this.limits.fileBytes) {
      const message = `file ${JSON.stringify(upload.filename)} is larger than ${this.limits.fileBytes} bytes (limit: file size)`;
      throw limitError("file_too_large", message);
    }
    this.form.files.push(upload);
  }
}

// ---- application/x-www-form-urlencoded ----------------------------------

const AMP = 0x26,
  EQ = 0x3d,
  PLUS = 0x2b,
  PERCENT = 0x25;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const l = c | 0x20;
  return l >= 0x61 && l <= 0x66 ? l - 0x61 + 10 : -1;
}

/** Percent-decoding to bytes ("+" is a space); raw non-ASCII bytes pass through (curl -d sends them). */
function percentDecode(bytes: Uint8Array): Uint8Array {
  if (!bytes.includes(PERCENT) && !bytes.includes(PLUS)) return bytes;
  const out = new Uint8Array(bytes.length);
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (c === PLUS) out[n++] = 0x20;
    else if (c !== PERCENT) out[n++] = c;
    else {
      const hi = hexValue(bytes[i + 1] ?? 0),
        lo = hexValue(bytes[i + 2] ?? 0);
      if (hi < 0 || lo < 0) throw badRequest("malformed percent-encoding in the form body", "malformed_body");
      out[n++] = (hi << 4) | lo;
      i += 2;
    }
  }
  return out.subarray(0, n);
}

export function parseUrlencoded(body: Uint8Array, limits: FormLimits): ParsedForm {
  const c = new Collector(limits);
  let start = 0;
  while (start <= body.length) {
    let end = body.indexOf(AMP, start);
    if (end === -1) end = body.length;
    if (end > start) {
      const pair = body.subarray(start, end);
      const eq = pair.indexOf(EQ);
      const rawName = eq === -1 ? pair : pair.subarray(0, eq);
      const rawValue = eq === -1 ? new Uint8Array(0) : pair.subarray(eq + 1);
      c.field(c.name(percentDecode(rawName)), percentDecode(rawValue));
    }
    start = end + 1;
  }
  return c.form;
}

// ---- multipart/form-data -------------------------------------------------

const CRLF = Buffer.from("\r\n");
const HEADER_END = Buffer.from("\r\n\r\n");

/** The boundary parameter of a multipart Content-Type (RFC 2046: 1 to 70 characters). */
export function multipartBoundary(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))\s*(?:;|$)/i.exec(contentType);
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary || !/^[0-9A-Za-z'()+_,\-./:=? ]*[0-9A-Za-z'()+_,\-./:=?]$/.test(boundary)) {
    throw badRequest("multipart/form-data needs a boundary parameter of 1 to 70 characters", "malformed_body");
  }
  return boundary;
}

function malformed(why: string): HttpError {
  return badRequest(`malformed multipart body: ${why}`, "malformed_body");
}

interface Disposition {
  name: string;
  filename: string | null;
  contentType: string;
}

/** Content-Disposition (form-data; name=...; filename=...) and Content-Type of one part. */
function partHeaders(block: Uint8Array, c: Collector): Disposition {
  let disposition: string | null = null;
  let contentType = "application/octet-stream";
  for (const line of text(block, "a part's headers").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0 || /^\s/.test(line)) throw malformed("a part header is not 'Name: value'");
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (name === "content-disposition") disposition = value;
    else if (name === "content-type" && /^[\x21-\x7e][\x20-\x7e]{0,254}$/.test(value)) contentType = value;
  }
  if (disposition === null || !/^form-data\s*(;|$)/i.test(disposition)) throw malformed("a part has no 'Content-Disposition: form-data'");
  const params = new Map<string, string>();
  const re = /;\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s"]*))/g;
  for (let m = re.exec(disposition); m; m = re.exec(disposition)) {
    params.set(m[1]!.toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]!);
  }
  const name = params.get("name");
  if (name === undefined) throw malformed("a part's Content-Disposition has no name");
  c.name(Buffer.from(name));
  const filename = params.get("filename");
  return { name, filename: filename === undefined ? null : cleanFilename(filename), contentType };
}

/** The last path segment (old browsers sent full paths), no control characters, at most 255 characters. */
function cleanFilename(name: string): string {
  return name
    .slice(Math.max(name.lastIndexOf("/"), name.lastIndexOf("\\")) + 1)
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .slice(0, 255);
}

export function parseMultipart(body: Uint8Array, boundary: string, limits: FormLimits): ParsedForm {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const c = new Collector(limits);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  // The first delimiter may open the body (no preamble) or follow a preamble and CRLF.
  let pos = buf.subarray(0, delimiter.length - 2).equals(delimiter.subarray(2)) ? delimiter.length - 2 : buf.indexOf(delimiter);
  if (pos === -1) throw malformed("the boundary never occurs");
  if (pos !== delimiter.length - 2) pos += delimiter.length;
  const maxParts = limits.fields + limits.files;
  for (let parts = 0; ; parts++) {
    // After a delimiter: "--" ends the body; else optional padding, then CRLF and a part.
    if (buf[pos] === 0x2d && buf[pos + 1] === 0x2d) break;
    while (buf[pos] === 0x20 || buf[pos] === 0x09) pos++;
    if (!buf.subarray(pos, pos + 2).equals(CRLF)) throw malformed("a boundary line does not end with CRLF");
    pos += 2;
    if (parts >= maxParts) throw limitError("too_many_parts", `the form has more than ${maxParts} parts (limit: field count + file count)`);
    const headerEnd = buf.indexOf(HEADER_END, pos);
    if (headerEnd === -1 || headerEnd - pos > limits.partHeaderBytes) {
      throw malformed(`a part's headers do not end within ${limits.partHeaderBytes} bytes`);
    }
    const part = partHeaders(buf.subarray(pos, headerEnd), c);
    const contentStart = headerEnd + 4;
    const next = buf.indexOf(delimiter, contentStart);
    if (next === -1) throw malformed("the closing boundary is missing");
    const content = buf.subarray(contentStart, next);
    if (part.filename === null) c.field(part.name, content);
    // A file input left empty is sent as a nameless empty part: nothing to keep.
    else if (part.filename !== "" || content.length > 0) {
      c.file({ field: part.name, filename: part.filename || "file", contentType: part.contentType, bytes: content });
    }
    pos = next + delimiter.length;
  }
  return c.form;
}
