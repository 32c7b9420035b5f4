// One error family for every layer: an HTTP status, a stable code and a message,
// answered by the API as {"error": {"code", "message"}}. Domain errors subclass it.
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
  }
}

export function badRequest(message: string, code = "bad_request"): HttpError {
  return new HttpError(400, code, message);
}

export function notFound(code: string, message: string): HttpError {
  return new HttpError(404, code, message);
}

/** A limit was exceeded: 413 (or the given status) naming the limit and its value. */
export function limitError(code: string, message: string, status = 413): HttpError {
  return new HttpError(status, code, message);
}

export function errorResponse(status: number, code: string, message: string, headers?: Record<string, string>): Response {
  return Response.json({ error: { code, message } }, { status, headers });
}
