// Mail: queue a message (202), the outbox and inbox, and the provider's
// inbound webhook (public: its own Svix signature check). A site token sees
// and sends only its own site's mail.
import type { ApiDeps } from "./deps.ts";
import { HttpError, badRequest } from "../http/errors.ts";
import {
  MAIL_BODY_LIMIT,
  MailInput,
  OUTBOX_STATUSES,
  canSend,
  deleteInboxMessage,
  emailWebhook,
  getInboxMessage,
  getOutboxMessage,
  inboxAttachment,
  listInbox,
  listOutbox,
  queueMail,
  retryMessage,
  senderSite,
} from "../mail/index.ts";
import { memberRoutes, publicRoutes } from "./route.ts";
import { findSite } from "../sites/index.ts";

const MAX_PAGE = 200;

function page(query: Record<string, string | undefined>): { limit: number; before?: string } {
  const limit = query.limit === undefined ? 50 : Number(query.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw badRequest(`limit: expected 1..${MAX_PAGE}`);
  const before = query.before;
  if (before !== undefined && !/^(out|in)_[a-z2-7]{16}$/.test(before)) throw badRequest("before: not a message id");
  return { limit, before };
}

export function mailApi(app: ApiDeps) {
  const store = app.store;
  const webhook = emailWebhook(app);
  const rules = { baseDomain: app.config.domain, allowFrom: app.config.mail.allowFrom };

  const member = memberRoutes()
    .post(
      "/api/mail",
      async ({ principal, json, set }) => {
        if (!canSend()) throw new HttpError(503, "mail_not_configured", "outbound mail needs RESEND_API_KEY on the server");
        const input = await json(MailInput);
        const id = queueMail(store, input, senderSite(store, input.from, principal.siteId, rules));
        app.mailChanged();
        set.status = 202;
        return { id, status: "queued" };
      },
      { bodyLimit: MAIL_BODY_LIMIT },
    )
    .get("/api/mail/outbox", ({ principal, query }) => {
      const status = query.status;
      if (status !== undefined && !(OUTBOX_STATUSES as readonly string[]).includes(status)) {
        throw badRequest(`status: expected one of ${OUTBOX_STATUSES.join(", ")}`);
      }
      return listOutbox(store, { ...page(query), siteId: principal.siteId, status });
    })
    .get("/api/mail/outbox/:id", ({ principal, params }) => getOutboxMessage(store, params.id!, principal.siteId))
    .post("/api/mail/outbox/:id/retry", ({ principal, params }) => {
      const view = retryMessage(store, params.id!, principal.siteId);
      app.mailChanged();
      return view;
    })
    .get("/api/mail/inbox", ({ principal, query }) => {
      let siteId = principal.siteId;
      if (query.site !== undefined) {
        const site = findSite(store, query.site);
        // A site token asking for another site sees nothing, as if that site had no mail.
        if (!site || (siteId !== null && site.id !== siteId)) return { messages: [], next: null };
        siteId = site.id;
      }
      const recipient = query.to;
      if (recipient !== undefined && recipient.length > 320) throw badRequest("to: at most 320 characters");
      return listInbox(store, { ...page(query), siteId, recipient });
    })
    .get("/api/mail/inbox/:id", ({ principal, params }) => getInboxMessage(store, params.id!, principal.siteId))
    .get("/api/mail/inbox/:id/attachments/:n", ({ principal, params }) => {
      const n = Number(params.n);
      if (!Number.isInteger(n) || n < 0) throw badRequest("attachment index: expected 0, 1, ...");
      const a = inboxAttachment(store, params.id!, n, principal.siteId);
      // Always a download, never rendered on the admin host (an HTML attachment would run there).
      return new Response(a.bytes, {
        headers: {
          "content-type": "application/octet-stream",
          "content-disposition": `attachment; filename*=UTF-8''${encodeURIComponent(a.filename)}`,
          "x-content-type-options": "nosniff",
          "x-original-content-type": a.contentType.replace(/[^\x20-\x7e]/g, ""),
        },
      });
    })
    .delete("/api/mail/inbox/:id", ({ principal, params }) => {
      deleteInboxMessage(store, params.id!, principal.siteId);
      app.gc.schedule();
      return { deleted: params.id };
    });

  const hooks = publicRoutes().post("/api/hooks/email", ({ request }) => webhook.handle(request));
  return [member, hooks];
}
