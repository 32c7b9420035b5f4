// Inbound mail by webhook: Resend signs deliveries with the Svix scheme
// (svix-id, svix-timestamp, svix-signature = "v1,BASE64(HMAC-SHA256(key,
// id.timestamp.body))", key = base64 after "whsec_"). The check is the same
// algorithm as the svix and standardwebhooks packages, with node's native HMAC
// and a constant-time compare. Headers are judged before the body is read;
// the body is read only up to a cap; a seen svix-id is refused until it is
// too old to pass the timestamp check anyway.
import { createHmac, timingSafeEqual } from "node:crypto";
import * as v from "valibot";
import type { Store } from "../db/index.ts";
import { HttpError, limitError } from "../http/errors.ts";
import { MAX_ADDRESS_LENGTH } from "./address.ts";
import { recipientSite, storeWebhookMetadata } from "./inbox.ts";
import type { MailMetrics } from "./metrics.ts";

const TOLERANCE_SECONDS = 5 * 60;
/** An email.received event is metadata: a few KiB (attachment names, many recipients at most). */
const WEBHOOK_BODY_LIMIT = 256 * 1024;

/** The signing key of a "whsec_..." secret; null when it is not one. */
export function webhookKey(secret: string): Buffer | null {
  if (!secret.startsWith("whsec_")) return null;
  const b64 = secret.slice("whsec_".length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return null;
  const key = Buffer.from(b64, "base64");
  return key.length > 0 ? key : null;
}

function signPayload(key: Buffer, id: string, timestamp: string, body: Uint8Array): string {
  return createHmac("sha256", key).update(`${id}.${timestamp}.`).update(body).digest("base64");
}

const Addr = v.pipe(v.string(), v.maxLength(MAX_ADDRESS_LENGTH));
const ReceivedEvent = v.object({
  type: v.pipe(v.string(), v.maxLength(100)),
  data: v.looseObject({
    email_id: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,100}$/, "is not an email id"))),
    from: v.optional(Addr, ""),
    to: v.optional(v.pipe(v.array(Addr), v.maxLength(1000)), []),
    subject: v.optional(v.pipe(v.string(), v.maxLength(2000)), ""),
    message_id: v.optional(v.nullable(v.pipe(v.string(), v.maxLength(1000))), null),
  }),
});

class Refused extends HttpError {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(401, "webhook_refused", message);
  }
}

export class EmailWebhook {
  constructor(
    private readonly store: Store,
    private readonly key: Buffer | null,
    private readonly baseDomain: string | null,
    private readonly metrics: MailMetrics,
    private readonly stored: () => void,
  ) {}

  /** Answer one delivery: 200 once stored (or ignored: another event type), 401 for anything unsigned, stale, wrong or replayed. */
  async handle(request: Request): Promise<{ ok: true; id?: string; ignored?: string; duplicate?: boolean }> {
    try {
      return await this.accept(request);
    } catch (err) {
      this.metrics.webhookRefused(err instanceof Refused ? err.reason : err instanceof HttpError ? err.code : "error");
      throw err;
    }
  }

  private async accept(request: Request) {
    if (!this.key) throw new Refused("not_configured", "the email webhook is off (no --mail-webhook-secret)");
    const id = request.headers.get("svix-id");
    const timestamp = request.headers.get("svix-timestamp");
    const signature = request.headers.get("svix-signature");
    if (!id || !timestamp || !signature) throw new Refused("unsigned", "svix-id, svix-timestamp and svix-signature are required");
    if (!/^[\x21-\x7e]{1,255}$/.test(id) || !/^\d{1,12}$/.test(timestamp) || signature.length > 2048 || !signature.includes("v1,")) {
      throw new Refused("malformed", "malformed svix headers");
    }
    if (Math.abs(Date.now() / 1000 - Number(timestamp)) > TOLERANCE_SECONDS) {
      throw new Refused("stale", `svix-timestamp is more than ${TOLERANCE_SECONDS} s away from now`);
    }
    const body = await readCapped(request, WEBHOOK_BODY_LIMIT);
    const expected = Buffer.from(signPayload(this.key, id, timestamp, body));
    const matches = signature.split(" ").some((s) => {
      const [version, sig] = s.split(",", 2);
      const given = Buffer.from(sig ?? "");
      return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected);
    });
    if (!matches) throw new Refused("bad_signature", "no svix-signature matches the body");
    let event: v.InferOutput<typeof ReceivedEvent>;
    try {
      const r = v.safeParse(ReceivedEvent, JSON.parse(new TextDecoder().decode(body)));
      if (!r.success) throw new Error(r.issues[0].message);
      event = r.output;
    } catch (err) {
      throw new HttpError(400, "bad_event", `not an event: ${(err as Error).message}`);
    }
    return this.store.tx(() => {
      const now = Date.now();
      this.store.write.query("DELETE FROM mail_webhook_seen WHERE expires_at < ?").run(now);
      const fresh = this.store.write
        .query("INSERT OR IGNORE INTO mail_webhook_seen (svix_id, expires_at) VALUES (?, ?)")
        .run(id, now + 2 * TOLERANCE_SECONDS * 1000).changes;
      if (!fresh) throw new Refused("replayed", `svix-id ${id} was already delivered`);
      if (event.type !== "email.received") return { ok: true as const, ignored: event.type };
      const d = event.data;
      if (!d.email_id) throw new HttpError(400, "bad_event", "data.email_id is required");
      const siteId = recipientSite(this.store, d.to, this.baseDomain);
      const stored = storeWebhookMetadata(
        this.store,
        { emailId: d.email_id, sender: d.from, recipients: d.to, subject: d.subject, messageId: d.message_id },
        siteId,
      );
      if (stored) {
        this.metrics.stored("webhook");
        queueMicrotask(this.stored);
      }
      return { ok: true as const, id: stored ?? undefined, duplicate: stored === null };
    });
  }
}

async function readCapped(request: Request, limit: number): Promise<Uint8Array> {
  if (Number(request.headers.get("content-length") ?? "0") > limit)
    throw limitError("body_too_large", `the webhook body is larger than ${limit} bytes`);
  if (!request.body) return new Uint8Array(0);
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of request.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.byteLength;
    if (size > limit) throw limitError("body_too_large", `the webhook body is larger than ${limit} bytes`);
    parts.push(chunk);
  }
  return Buffer.concat(parts, size);
}
