// JSON bodies checked with valibot; a failed check is a 400 naming the field.
import * as v from "valibot";
import { ApiError } from "./errors.ts";

export function parseBody<S extends v.GenericSchema>(schema: S, body: unknown): v.InferOutput<S> {
  const r = v.safeParse(schema, body ?? {});
  if (r.success) return r.output;
  const issue = r.issues[0];
  const where = issue.path?.map((p) => String(p.key)).join(".");
  throw new ApiError(400, "bad_request", where ? `${where}: ${issue.message}` : issue.message);
}
