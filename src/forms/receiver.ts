// POST /.fazt/forms/NAME on a site host: checks in order of cost (client and
// site rate, a declared form, content type, body size), then the body is read
// with a cap and parsed, the honeypot looked at, and the submission stored
// with its notification in one transaction. The answer is a 303 back to the
// site, or JSON for `Accept: application/json`.
import { HttpError, badRequest, errorResponse, notFound } from "../http/errors.ts";
import { log } from "../log/index.ts";
import { normalizeHost } from "../http/host.ts";
import { canSend, queueMail } from "../mail/index.ts";
import { findSite } from "../sites/index.ts";
import { FORM_NAME_RE } from "../sites/settings.ts";
import type { FormsDeps } from "./index.ts";
import { BodyBudget, bodyReservation, busy, readCapped } from "./body.ts";
import { BODY_DEADLINE_MS, FORM_LIMITS, IN_FLIGHT_BODY_BYTES } from "./limits.ts";
import { formSender, notification } from "./notify.ts";
import { multipartBoundary, parseMultipart, parseUrlencoded, type ParsedForm } from "./parse.ts";
import { RateLimiter } from "./rate.ts";
import type { Counter } from "../metrics/registry.ts";
import { deployFormNames } from "../vfs/form-names.ts";
import { DiskGuard } from "../vfs/disk.ts";
import { clientHash, newSubmissionId, siteSubmissionBytes, storeSubmission, submissionBytes } from "./submissions.ts";

export const FORMS_PREFIX = "/.fazt/forms/";
const HONEYPOT = "_gotcha";
const NEXT = "_next";
const MAX_USER_AGENT = 512;
const DECLARED_CACHE_MAX = 1000;

/** The site a submission is for, as the routing table knows it. */
interface FormTarget {
  siteId: number;
  siteName: string;
  deployId: string | null;
  settings: { forms: Record<string, { notify: string[] }> };
}

export class FormReceiver {
  private readonly perClient: RateLimiter;
  private readonly perSite: RateLimiter;
  private readonly budget = new BodyBudget(IN_FLIGHT_BODY_BYTES);
  private readonly disk: DiskGuard;
  /** deploy id -> forms its HTML declares (deploys never change). */
  private readonly declaredByDeploy = new Map<string, string[]>();
  private readonly deadlineMs = Number(process.env.FAZT_FORMS_BODY_DEADLINE_MS) || BODY_DEADLINE_MS;
  private readonly outcomes: Counter;

  constructor(private readonly app: FormsDeps) {
    this.perClient = new RateLimiter(app.config.forms.clientPerMinute);
    this.perSite = new RateLimiter(app.config.forms.sitePerMinute, 100_000);
    this.disk = new DiskGuard(app.store.path, app.config.limits.minFreeDiskBytes);
    this.outcomes = app.metrics.counter("fazt_form_submissions_total", "Form submissions by outcome (stored, honeypot, refused)", [
      "outcome",
    ]);
  }

  async handle(req: Request, target: FormTarget, client: string, pathStart: number): Promise<Response> {
    const json = (req.headers.get("accept") ?? "").includes("application/json");
    try {
      const form = req.url.slice(pathStart + FORMS_PREFIX.length).replace(/\?.*$/, "");
      const res = await this.receive(req, target, client, form, json);
      return res;
    } catch (err) {
      this.outcomes.labels("refused").inc();
      if (err instanceof HttpError) return refusal(err, json);
      log.error("form submission failed", { err: err as Error, site: target.siteName });
      return refusal(new HttpError(500, "internal", "the submission could not be stored"), json);
    }
  }

  private async receive(req: Request, target: FormTarget, client: string, form: string, json: boolean): Promise<Response> {
    const hash = clientHash(this.app.store, client);
    limited(this.perClient.take(hash), "this client sends too many form submissions");
    if (!FORM_NAME_RE.test(form) || !this.declared(target, form)) {
      const name = JSON.stringify(form.slice(0, 40));
      const how = "declare it in the site's settings (forms) or with data-fazt-form in its HTML";
      throw notFound("form_not_found", `site ${target.siteName} has no form ${name}: ${how}`);
    }
    limited(this.perSite.take(target.siteId), `site ${target.siteName} receives too many form submissions`);
    this.checkShare(target, 0);
    const { parse, cap, kind } = bodyParser(req.headers.get("content-type") ?? "");
    const reserved = bodyReservation(req, cap, kind);
    if (!this.budget.reserve(reserved)) throw busy();
    let parsed: ParsedForm;
    try {
      parsed = parse(await readCapped(req, cap, kind, this.deadlineMs));
    } finally {
      this.budget.release(reserved);
    }
    const next = takeField(parsed, NEXT);
    if (takeField(parsed, HONEYPOT)) {
      // A bot filled the hidden field: it gets the answer a person would, and nothing is kept.
      this.outcomes.labels("honeypot").inc();
      return success(req, form, newSubmissionId(), next, json);
    }
    if (parsed.fields.length === 0 && parsed.files.length === 0) throw badRequest("the submission has no fields", "empty_submission");
    const userAgent = req.headers.get("user-agent")?.slice(0, MAX_USER_AGENT) ?? null;
    const bytes = submissionBytes(parsed.fields, userAgent, parsed.files);
    this.checkShare(target, bytes);
    this.checkDisk(bytes);
    const id = await this.store(target, form, parsed, hash, userAgent);
    this.outcomes.labels("stored").inc();
    return success(req, form, id, next, json);
  }

  private async store(target: FormTarget, form: string, parsed: ParsedForm, hash: string, userAgent: string | null): Promise<string> {
    const store = this.app.store;
    const notify = target.settings.forms[form]?.notify ?? [];
    let queued = false;
    const submission = {
      siteId: target.siteId,
      form,
      fields: parsed.fields,
      files: parsed.files,
      clientHash: hash,
      userAgent,
    };
    const id = await storeSubmission(store, submission, (id) => {
      if (notify.length === 0) return;
      queued = this.queueNotification(target, form, id, parsed, notify);
    });
    if (queued) this.app.mailChanged();
    return id;
  }

  /** A site's submissions hold at most --forms-max-bytes: a flood fills its own share, not the disk (checked before and after reading). */
  private checkShare(target: FormTarget, adding: number): void {
    const cap = this.app.config.forms.siteMaxBytes;
    const used = siteSubmissionBytes(this.app.store, target.siteId);
    const full = adding === 0 ? used >= cap : used + adding > cap;
    if (!full) return;
    throw new HttpError(
      507,
      "form_storage_full",
      `site ${target.siteName}'s form submissions hold ${used} of the ${cap} bytes --forms-max-bytes allows; delete some to receive more`,
    );
  }

  /** The --min-free-disk-bytes reserve that deploys keep applies to submissions too. */
  private checkDisk(bytes: number): void {
    try {
      this.disk.check(bytes);
    } catch (err) {
      if (!(err instanceof HttpError && err.status === 507)) throw err;
      throw new HttpError(507, "insufficient_storage", "the server's disk is nearly full; the submission was not stored");
    }
  }

  /** Queue the notification inside the submission's transaction; a failure to queue never loses the submission. */
  private queueNotification(target: FormTarget, form: string, id: string, parsed: ParsedForm, to: string[]): boolean {
    const site = findSite(this.app.store, target.siteName);
    const from = site && formSender(site, this.app.config.domain);
    if (!from || !canSend()) {
      const reason = from ? "RESEND_API_KEY is not set" : "the site owns no domain";
      log.warn("form notification not queued", { site: target.siteName, form, reason });
      return false;
    }
    const files = parsed.files.map((f) => ({ filename: f.filename, size: f.bytes.length }));
    try {
      const mail = notification({ siteName: target.siteName, form, id, fields: parsed.fields, files, from, to });
      queueMail(this.app.store, mail, target.siteId);
      return true;
    } catch (err) {
      log.warn("form notification not queued", { site: target.siteName, form, err: err as Error });
      return false;
    }
  }

  /** Forms the site declares: its settings, and the HTML of the deploy this host serves. */
  private declared(target: FormTarget, form: string): boolean {
    if (Object.hasOwn(target.settings.forms, form)) return true;
    if (!target.deployId) return false;
    let names = this.declaredByDeploy.get(target.deployId);
    if (!names) {
      names = deployFormNames(this.app.store.read, target.deployId);
      if (this.declaredByDeploy.size >= DECLARED_CACHE_MAX) this.declaredByDeploy.clear();
      this.declaredByDeploy.set(target.deployId, names);
    }
    return names.includes(form);
  }
}

function limited(waitMs: number, message: string): void {
  if (waitMs === 0) return;
  const seconds = Math.ceil(waitMs / 1000);
  throw new HttpError(429, "rate_limited", `${message}; retry in ${seconds} s`, { "retry-after": String(seconds) });
}

function bodyParser(contentType: string): { parse: (body: Uint8Array) => ParsedForm; cap: number; kind: string } {
  const type = contentType.split(";", 1)[0]!.trim().toLowerCase();
  if (type === "application/x-www-form-urlencoded") {
    return { parse: (b) => parseUrlencoded(b, FORM_LIMITS), cap: FORM_LIMITS.urlencodedBytes, kind: "urlencoded" };
  }
  if (type === "multipart/form-data") {
    const boundary = multipartBoundary(contentType);
    return { parse: (b) => parseMultipart(b, boundary, FORM_LIMITS), cap: FORM_LIMITS.multipartBytes, kind: "multipart" };
  }
  throw new HttpError(415, "unsupported_media_type", "a form is sent as application/x-www-form-urlencoded or multipart/form-data");
}

/** Remove a control field (all its values) and return its first value. */
function takeField(parsed: ParsedForm, name: string): string | null {
  const values = parsed.fields.filter(([n]) => n === name).map(([, v]) => v);
  if (values.length) parsed.fields = parsed.fields.filter(([n]) => n !== name);
  return values.find((v) => v !== "") ?? null;
}

const NO_STORE = { "cache-control": "no-store" };

function success(req: Request, form: string, id: string, next: string | null, json: boolean): Response {
  if (json) return Response.json({ ok: true, form, id }, { headers: NO_STORE });
  return new Response(null, { status: 303, headers: { ...NO_STORE, location: backTo(req, form, next) } });
}

/** `_next` when it is a path on this site; else the Referer (this site only) with ?submitted=NAME; else the site's root. */
function backTo(req: Request, form: string, next: string | null): string {
  // Same site: the same host name (a port does not make another site); the answer is a path on this host anyway.
  const host = normalizeHost(req.headers.get("host"));
  const base = `http://${host}`;
  const sameSite = (raw: string | null): URL | null => {
    if (!raw || raw.length > 2048 || /[\u0000-\u0020\\]/.test(raw)) return null;
    try {
      const url = new URL(raw, base);
      const relative = raw.startsWith("/") && !raw.startsWith("//");
      return relative || ((url.protocol === "http:" || url.protocol === "https:") && normalizeHost(url.host) === host) ? url : null;
    } catch {
      return null;
    }
  };
  const nextUrl = sameSite(next);
  if (nextUrl) return nextUrl.pathname + nextUrl.search;
  const back = sameSite(req.headers.get("referer")) ?? new URL("/", base);
  back.searchParams.set("submitted", form);
  return back.pathname + back.search;
}

function refusal(err: HttpError, json: boolean): Response {
  const headers = { ...NO_STORE, ...err.headers };
  if (json) return errorResponse(err.status, err.code, err.message, headers);
  return new Response(`${err.message}\n`, {
    status: err.status,
    headers: { ...headers, "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" },
  });
}
