// The API client: JSON in and out, the session's CSRF token on every change,
// errors as ApiError with the server's message.
let csrfToken = null;
let onSignedOut = () => {};

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export function setSession(session) {
  csrfToken = session ? session.csrf_token : null;
}

/** Called when the server says the session has ended (401 on any call but sign-in). */
export function whenSignedOut(fn) {
  onSignedOut = fn;
}

function headersFor(method, extra = {}) {
  const headers = { ...extra };
  if (method !== "GET" && csrfToken) headers["x-csrf-token"] = csrfToken;
  return headers;
}

async function failure(status, text, path) {
  let error = null;
  try {
    error = JSON.parse(text).error;
  } catch {
    // not JSON: keep the status
  }
  if (status === 401 && path !== "/api/session") onSignedOut();
  return new ApiError(status, error?.code ?? `http_${status}`, error?.message ?? `the server answered ${status}`);
}

export async function api(method, path, body) {
  const json = body !== undefined;
  const res = await fetch(path, {
    method,
    headers: headersFor(method, json ? { "content-type": "application/json" } : {}),
    body: json ? JSON.stringify(body) : undefined,
    credentials: "same-origin",
  });
  const text = await res.text();
  if (!res.ok) throw await failure(res.status, text, path);
  return text ? JSON.parse(text) : null;
}

/** Send a Blob with upload progress (fetch has none): onProgress(sentBytes). */
export function send(method, path, blob, onProgress) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, path);
    for (const [k, v] of Object.entries(headersFor(method, { "content-type": "application/octet-stream" }))) xhr.setRequestHeader(k, v);
    xhr.upload.onprogress = (e) => onProgress?.(e.loaded);
    xhr.onload = async () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.responseText ? JSON.parse(xhr.responseText) : null);
      else reject(await failure(xhr.status, xhr.responseText, path));
    };
    xhr.onerror = () => reject(new ApiError(0, "network", "the upload failed: network error"));
    xhr.send(blob);
  });
}

/** Path segment, encoded. */
export const seg = (s) => encodeURIComponent(s);
