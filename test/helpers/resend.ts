// A local stand-in for Resend's HTTP API (the only mock the tests use): the
// SDK talks to it through RESEND_BASE_URL. It delivers like Resend does with
// idempotency keys (a key seen before returns the first answer and delivers
// nothing new), and on demand fails (5xx), rate-limits (429 + Retry-After),
// holds a request without answering (timeout), or accepts and then drops the
// answer. It serves received emails and their attachments for the webhook path.
import type { Server } from "bun";

export type Behaviour = "ok" | "fail" | "reject" | "ratelimit" | "hang" | "drop";

export interface SendRequest {
  at: number;
  key: string | null;
  subject: string;
  body: Record<string, unknown>;
  behaviour: Behaviour;
}

export interface Delivery {
  id: string;
  key: string | null;
  subject: string;
  body: Record<string, unknown>;
}

export interface ReceivedEmail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string | null;
  headers: Record<string, string>;
  attachments: { filename: string; content_type: string; content: Uint8Array }[];
}

export const API_KEY = "re_test_standin";
/** The limit the stand-in announces when it enforces none (Resend always announces one). */
const UNLIMITED_ANNOUNCED = 1000;

export class ResendStandIn {
  readonly requests: SendRequest[] = [];
  readonly deliveries: Delivery[] = [];
  /** Behaviours for the next send requests, in order; "ok" once empty. */
  script: Behaviour[] = [];
  /** Seconds sent in Retry-After with 429. */
  retryAfter = 1;
  /** Answer accepted sends after this many ms (a slow provider: a window to kill the sender in). */
  delayMs = 0;
  /** Most send requests the stand-in was answering at once. */
  maxConcurrent = 0;
  private concurrent = 0;
  /** Sends accepted per second before 429s (0: no limit). */
  ratePerSecond = 0;
  readonly received = new Map<string, ReceivedEmail>();
  /** Behaviours for the next received-email fetches ("fail" is a 500). */
  receivingScript: Behaviour[] = [];
  readonly receivedFetches: string[] = [];
  private readonly byKey = new Map<string, string>();
  private readonly listeners = new Set<(r: SendRequest) => void>();
  private readonly held = new Set<() => void>();
  private bucket = { tokens: 0, at: 0 };
  private server!: Server<undefined>;
  private nextId = 1;

  start(): this {
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => this.handle(req), idleTimeout: 0 });
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.server.port}`;
  }

  /** The environment that points a fazt at this stand-in. */
  env(): Record<string, string> {
    return { RESEND_API_KEY: API_KEY, RESEND_BASE_URL: this.url };
  }

  /** Resolves with the next send request that matches (already seen ones do not count). */
  nextRequest(match: (r: SendRequest) => boolean = () => true): Promise<SendRequest> {
    return new Promise((resolve) => {
      const fn = (r: SendRequest) => {
        if (!match(r)) return;
        this.listeners.delete(fn);
        resolve(r);
      };
      this.listeners.add(fn);
    });
  }

  /** Resolves once `n` distinct messages have been delivered. */
  async deliveredCount(n: number): Promise<void> {
    while (this.deliveries.length < n) await this.nextRequest();
  }

  async stop(): Promise<void> {
    for (const release of this.held) release();
    await this.server.stop(true);
  }

  private async handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    // Download URLs are pre-signed (no API key), as Resend's are.
    const d = /^\/downloads\/([^/]+)\/(\d+)$/.exec(url.pathname);
    if (req.method === "GET" && d) {
      const a = this.received.get(d[1]!)?.attachments[Number(d[2])];
      return a ? new Response(a.content) : new Response("not found", { status: 404 });
    }
    if (req.headers.get("authorization") !== `Bearer ${API_KEY}`)
      return Response.json({ name: "missing_api_key", message: "bad key", statusCode: 401 }, { status: 401 });
    if (req.method === "POST" && url.pathname === "/emails") return this.withRateHeaders(await this.send(req));
    const m = /^\/emails\/receiving\/([^/]+)(\/attachments)?$/.exec(url.pathname);
    if (req.method === "GET" && m) return this.withRateHeaders(this.receiving(m[1]!, Boolean(m[2])));
    return Response.json({ name: "not_found", message: "no route", statusCode: 404 }, { status: 404 });
  }

  private overRate(now: number): boolean {
    if (this.ratePerSecond <= 0) return false;
    const b = this.bucket;
    b.tokens = Math.min(this.ratePerSecond, b.tokens + ((now - b.at) / 1000) * this.ratePerSecond);
    b.at = now;
    if (b.tokens < 1) return true;
    b.tokens -= 1;
    return false;
  }

  private async send(req: Request): Promise<Response> {
    this.maxConcurrent = Math.max(this.maxConcurrent, ++this.concurrent);
    try {
      return await this.accept(req);
    } finally {
      this.concurrent--;
    }
  }

  private async accept(req: Request): Promise<Response> {
    const body = (await req.json()) as Record<string, unknown>;
    const key = req.headers.get("idempotency-key");
    const now = Date.now();
    let behaviour = this.script.shift() ?? "ok";
    if (behaviour === "ok" && this.overRate(now)) behaviour = "ratelimit";
    const record: SendRequest = { at: now, key, subject: String(body.subject), body, behaviour };
    this.requests.push(record);
    const answer = this.answer(behaviour, key, body);
    for (const fn of [...this.listeners]) fn(record);
    return answer;
  }

  /** Resend's rate-limit headers (IETF draft) on every API answer: the limit per second, what is left, seconds to the next call. */
  private withRateHeaders(res: Response): Response {
    const limit = this.ratePerSecond > 0 ? this.ratePerSecond : UNLIMITED_ANNOUNCED;
    const left = this.ratePerSecond > 0 ? Math.floor(this.bucket.tokens) : limit;
    const reset = left > 0 ? 0 : Math.max(1, Math.ceil((1 - this.bucket.tokens) / limit));
    res.headers.set("ratelimit-limit", String(limit));
    res.headers.set("ratelimit-remaining", String(left));
    res.headers.set("ratelimit-reset", String(reset));
    return res;
  }

  private async answer(behaviour: Behaviour, key: string | null, body: Record<string, unknown>): Promise<Response> {
    switch (behaviour) {
      case "fail":
        return Response.json({ name: "internal_server_error", message: "stand-in failure", statusCode: 500 }, { status: 500 });
      case "reject":
        return Response.json({ name: "validation_error", message: "stand-in rejects this message", statusCode: 422 }, { status: 422 });
      case "ratelimit":
        return Response.json(
          { name: "rate_limit_exceeded", message: "too many requests", statusCode: 429 },
          {
            status: 429,
            headers: { "retry-after": String(this.retryAfter) },
          },
        );
      case "hang":
        return this.hold();
    }
    const known = key ? this.byKey.get(key) : undefined;
    let id = known;
    if (!id) {
      id = `re_${this.nextId++}`;
      if (key) this.byKey.set(key, id);
      this.deliveries.push({ id, key, subject: String(body.subject), body });
    }
    if (behaviour === "drop") return this.hold(); // accepted, but the answer never arrives
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    return Response.json({ id });
  }

  /** A request that is never answered (until stop()): the client's timeout ends it. */
  private hold(): Promise<Response> {
    return new Promise((resolve) => {
      const release = () => resolve(new Response("gone", { status: 503 }));
      this.held.add(release);
    });
  }

  private receiving(id: string, attachments: boolean): Response {
    this.receivedFetches.push(id);
    if (this.receivingScript.shift() === "fail")
      return Response.json({ name: "internal_server_error", message: "stand-in", statusCode: 500 }, { status: 500 });
    const e = this.received.get(id);
    if (!e) return Response.json({ name: "not_found", message: "no such email", statusCode: 404 }, { status: 404 });
    const list = e.attachments.map((a, i) => ({
      id: `att_${i}`,
      filename: a.filename,
      size: a.content.byteLength,
      content_type: a.content_type,
      content_disposition: "attachment",
      download_url: `${this.url}/downloads/${id}/${i}`,
      expires_at: new Date(Date.now() + 3600_000).toISOString(),
    }));
    if (attachments) return Response.json({ object: "list", has_more: false, data: list });
    return Response.json({
      object: "email",
      id,
      from: e.from,
      to: e.to,
      subject: e.subject,
      text: e.text,
      html: e.html,
      headers: e.headers,
      message_id: `<${id}@stand-in>`,
      created_at: new Date().toISOString(),
      bcc: null,
      cc: null,
      reply_to: null,
      received_for: e.to,
      attachments: list.map(({ download_url: _u, expires_at: _e, ...a }) => a),
    });
  }
}
