// JSON bodies: read only after the guard, at most `limit` bytes (413 naming the
// limit, from Content-Length when it is given, else while reading), then checked
// with valibot (400 naming the field).
import * as v from "valibot";
import { type HttpError, badRequest, limitError } from "../http/errors.ts";
import { Breather } from "../core/breather.ts";

export async function readJson<S extends v.GenericSchema>(request: Request, schema: S, limit: number): Promise<v.InferOutput<S>> {
  // Decoding, parsing and checking a body of megabytes (a mail's attachments)
  // take ~10-20 ms each: the event loop gets a turn between them, and before
  // the handler's own work, once they have held it for a slice.
  const breather = new Breather();
  const text = await readText(request, limit);
  await breather.breathe();
  let body: unknown = {};
  if (text.trim() !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      throw badRequest("request body is not valid JSON");
    }
    // Every API body is one JSON object.
    if (typeof body !== "object" || body === null || Array.isArray(body)) throw badRequest("request body must be a JSON object");
    await breather.breathe();
  }
  const parsed = parseBody(schema, body);
  await breather.breathe();
  return parsed;
}

export function parseBody<S extends v.GenericSchema>(schema: S, body: unknown): v.InferOutput<S> {
  const r = v.safeParse(schema, body ?? {});
  if (r.success) return r.output;
  const issue = r.issues[0];
  const where = issue.path?.map((p) => String(p.key)).join(".");
  throw badRequest(where ? `${where}: ${issue.message}` : issue.message);
}

function tooLarge(limit: number): HttpError {
  return limitError("body_too_large", `the JSON body is larger than ${limit} bytes`);
}

async function readText(request: Request, limit: number): Promise<string> {
  const declared = Number(request.headers.get("content-length") ?? "0");
  if (declared > limit) throw tooLarge(limit);
  if (!request.body) return "";
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw tooLarge(limit);
    parts.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(parts, size));
}
