// Mail: the outbox (status, attempts, errors, retry), a message's attempt log,
// sending a message, the inbox and one received message. Received HTML (already
// sanitised by the server) is shown in a frame with sandbox="" (no scripts, no
// forms, its own opaque origin) and a CSP of its own that loads nothing remote.
import { api, seg } from "./api.js";
import { h, fill, field, errorSlot, action, bytes, when, table, heading, showFieldError, clearFieldErrors, confirmButton } from "./dom.js";

const STATUSES = ["queued", "sending", "sent", "failed"];
const PAGE_SIZES = [10, 25, 100];
/** While some listed message is still queued or sending, the list asks again this often. */
const REFRESH_MS = 2000;

export async function render(main, kind, id) {
  if (kind === "inbox" && id) return inboxMessage(main, id);
  if (kind === "outbox" && id) return outboxMessage(main, id);
  if (kind === "inbox") return inbox(main);
  if (kind === "send") return compose(main);
  return outbox(main);
}

/** A "Per page" select (the API's limit). */
function perPage() {
  const f = field("Per page", { name: "limit" }, "select");
  f.input.append(...PAGE_SIZES.map((n) => h("option", { value: n }, String(n))));
  f.input.value = "25";
  return f;
}

function tabs(current) {
  const link = (id, label) => h("a", { href: `#/mail/${id}`, "aria-current": id === current ? "page" : undefined }, label);
  return h(
    "nav",
    { class: "tabs", "aria-label": "Mail" },
    link("outbox", "Outbox"),
    link("inbox", "Inbox"),
    link("send", "Send a message"),
  );
}

const badge = (status) => h("span", { class: `badge ${status}` }, status);
const addresses = (list) => list.join(", ");

/**
 * A paged list: load(before) fetches a page ({messages, next}); rows are
 * appended by "Show older". Returns {el, reload}.
 */
function pagedList(head, row, emptyText, load) {
  const body = h("div");
  const error = errorSlot();
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show older");
  let rows = [];
  let next = null;
  const draw = () => fill(body, table(head, rows.map(row), emptyText));
  const page = async (before) => {
    const r = await load(before);
    rows = before ? [...rows, ...r.messages] : r.messages;
    next = r.next;
    more.hidden = next === null;
    draw();
    return rows;
  };
  more.addEventListener("click", () => action(more, error, () => page(next)));
  const reload = async () => {
    error.textContent = "";
    try {
      return await page(undefined);
    } catch (err) {
      error.textContent = err.message;
      return [];
    }
  };
  return { el: h("div", null, body, error, more), reload };
}

async function outbox(main) {
  const status = field("Status", { name: "status" }, "select");
  const limit = perPage();
  status.input.append(h("option", { value: "" }, "Any"), ...STATUSES.map((s) => h("option", { value: s }, s)));
  const show = h("button", { type: "submit" }, "Show");
  const formError = errorSlot();
  const list = pagedList(
    ["Subject", "To", "Status", { label: "Attempts", num: true }, "Last error", "Created", ""],
    outboxRow,
    "No messages.",
    (before) => {
      const q = new URLSearchParams({ limit: limit.input.value });
      if (status.input.value) q.set("status", status.input.value);
      if (before) q.set("before", before);
      return api("GET", `/api/mail/outbox?${q}`);
    },
  );
  function outboxRow(m) {
    const rowError = errorSlot();
    const retry =
      m.status === "failed" ? h("button", { type: "button", class: "secondary", "aria-label": `Retry ${m.subject}` }, "Retry") : null;
    retry?.addEventListener("click", async () => {
      if (await action(retry, rowError, () => api("POST", `/api/mail/outbox/${seg(m.id)}/retry`))) await refresh();
    });
    return h(
      "tr",
      { "data-message": m.id },
      h("td", null, h("a", { href: `#/mail/outbox/${seg(m.id)}` }, m.subject || "(no subject)")),
      h("td", null, addresses(m.to)),
      h("td", null, badge(m.status)),
      h("td", { class: "num" }, m.attempts),
      h("td", null, m.last_error ?? h("span", { class: "muted" }, "–")),
      h("td", null, when(m.created_at)),
      h("td", null, retry, rowError),
    );
  }
  let timer = null;
  const refresh = async () => {
    clearTimeout(timer);
    const rows = await list.reload();
    // Follow messages on their way, while this screen is shown.
    if (rows.some((m) => m.status === "queued" || m.status === "sending")) {
      timer = setTimeout(() => list.el.isConnected && refresh(), REFRESH_MS);
    }
  };
  const form = h(
    "form",
    { class: "row", "aria-label": "Filter" },
    h("div", null, status.wrap),
    h("div", null, limit.wrap),
    h("div", { class: "field" }, show),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    action(show, formError, refresh);
  });
  fill(main, heading("Mail"), tabs("outbox"), h("section", { class: "card" }, h("h2", null, "Outbox"), form, formError, list.el));
  await refresh();
}

async function outboxMessage(main, id) {
  const error = errorSlot();
  fill(main, heading("Outgoing message"), tabs("outbox"), error);
  let m;
  try {
    m = await api("GET", `/api/mail/outbox/${seg(id)}`);
  } catch (err) {
    error.textContent = err.message;
    return;
  }
  const retryError = errorSlot();
  const retry = h("button", { type: "button" }, "Retry");
  retry.addEventListener("click", async () => {
    if (await action(retry, retryError, () => api("POST", `/api/mail/outbox/${seg(id)}/retry`))) await outboxMessage(main, id);
  });
  const fact = (k, v) => [h("dt", null, k), h("dd", null, v)];
  main.append(
    h(
      "section",
      { class: "card" },
      h("h2", null, m.subject || "(no subject)"),
      h(
        "dl",
        { class: "facts" },
        fact("Id", h("code", null, m.id)),
        fact("From", m.from),
        fact("To", addresses(m.to)),
        fact("Status", badge(m.status)),
        fact("Attempts", String(m.attempts)),
        fact("Last error", m.last_error ?? "–"),
        fact("Provider id", m.provider_id ?? "–"),
        fact("Size", bytes(m.bytes)),
        fact("Created", when(m.created_at)),
        fact("Sent", when(m.sent_at)),
        m.next_attempt_at ? fact("Next attempt", when(m.next_attempt_at)) : null,
      ),
      m.status === "failed" ? h("p", null, retry, retryError) : null,
    ),
    h(
      "section",
      { class: "card" },
      h("h2", null, "Attempts"),
      table(
        [{ label: "#", num: true }, "Started", "Finished", "Outcome", { label: "Status", num: true }, "Error"],
        m.attempt_log.map((a) =>
          h(
            "tr",
            null,
            h("td", { class: "num" }, a.attempt),
            h("td", null, when(a.started_at)),
            h("td", null, when(a.finished_at)),
            h("td", null, badge(a.outcome)),
            h("td", { class: "num" }, a.status_code ?? "–"),
            h("td", null, a.error ?? "–"),
          ),
        ),
        "No attempt yet.",
      ),
    ),
  );
}

/** Files as the API's attachments (base64 content). */
async function attachmentsOf(files) {
  const out = [];
  for (const file of files) {
    const buf = new Uint8Array(await file.arrayBuffer());
    let binary = "";
    for (let i = 0; i < buf.length; i += 0x8000) binary += String.fromCharCode(...buf.subarray(i, i + 0x8000));
    out.push({ filename: file.name, content: btoa(binary), content_type: file.type || undefined });
  }
  return out;
}

const listOf = (text) =>
  text
    .split(/[,;\n]/)
    .map((s) => s.trim())
    .filter(Boolean);

function compose(main) {
  const from = field("From", { name: "from", autocomplete: "off", placeholder: "News <news@blog.example.com>", required: true });
  const to = field("To (comma-separated)", { name: "to", autocomplete: "off", placeholder: "someone@example.org", required: true });
  const cc = field("Cc (optional)", { name: "cc", autocomplete: "off" });
  const subject = field("Subject", { name: "subject", autocomplete: "off", maxlength: 998, required: true });
  const text = field("Text", { name: "text", rows: 8 }, "textarea");
  const html = field("HTML (optional)", { name: "html", rows: 4 }, "textarea");
  const files = field("Attachments (optional)", { name: "attachments", type: "file", multiple: true });
  const formError = errorSlot();
  const sent = h("div", { "aria-live": "polite" });
  const button = h("button", { type: "submit" }, "Send");
  const byField = {
    from: from.error,
    to: to.error,
    cc: cc.error,
    subject: subject.error,
    text: text.error,
    html: html.error,
    attachments: files.error,
  };
  const form = h(
    "form",
    null,
    h(
      "div",
      { class: "row" },
      h("div", { class: "grow" }, from.wrap),
      h("div", { class: "grow" }, to.wrap),
      h("div", { class: "grow" }, cc.wrap),
    ),
    subject.wrap,
    text.wrap,
    html.wrap,
    files.wrap,
    button,
    formError,
    sent,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    clearFieldErrors(byField, formError);
    fill(sent);
    const r = await action(button, null, async () => {
      const body = { from: from.input.value.trim(), to: listOf(to.input.value), subject: subject.input.value, text: text.input.value };
      if (cc.input.value.trim()) body.cc = listOf(cc.input.value);
      if (html.input.value.trim()) body.html = html.input.value;
      if (files.input.files.length) body.attachments = await attachmentsOf(files.input.files);
      return api("POST", "/api/mail", body);
    }).catch((err) => {
      // sender_not_allowed names the From address; mail_not_configured is the server's.
      showFieldError(err, byField, formError, { sender_not_allowed: "from", body_too_large: "attachments" });
    });
    if (!r) return;
    fill(
      sent,
      h(
        "p",
        { class: "notice" },
        "Queued as ",
        h("a", { href: `#/mail/outbox/${seg(r.id)}` }, r.id),
        ". ",
        h("a", { href: "#/mail/outbox" }, "See the outbox"),
      ),
    );
    form.reset();
  });
  fill(main, heading("Mail"), tabs("send"), h("section", { class: "card" }, h("h2", null, "Send a message"), form));
}

async function inbox(main) {
  const site = field("Site", { name: "site" }, "select");
  site.input.append(h("option", { value: "" }, "Any"));
  const to = field("To contains", { name: "to", autocomplete: "off", maxlength: 320 });
  const limit = perPage();
  const show = h("button", { type: "submit" }, "Show");
  const formError = errorSlot();
  const list = pagedList(
    ["Subject", "From", "To", "Received", { label: "Size", num: true }, "Body"],
    (m) =>
      h(
        "tr",
        { "data-message": m.id },
        h("td", null, h("a", { href: `#/mail/inbox/${seg(m.id)}` }, m.subject || "(no subject)")),
        h("td", null, m.from),
        h("td", null, addresses(m.to)),
        h("td", null, when(m.received_at)),
        h("td", { class: "num" }, bytes(m.bytes)),
        h("td", null, m.body === "complete" ? "✓" : badge(m.body)),
      ),
    "No messages.",
    (before) => {
      const q = new URLSearchParams({ limit: limit.input.value });
      if (site.input.value) q.set("site", site.input.value);
      if (to.input.value.trim()) q.set("to", to.input.value.trim());
      if (before) q.set("before", before);
      return api("GET", `/api/mail/inbox?${q}`);
    },
  );
  const form = h(
    "form",
    { class: "row", "aria-label": "Filter" },
    h("div", null, site.wrap),
    h("div", { class: "grow" }, to.wrap),
    h("div", null, limit.wrap),
    h("div", { class: "field" }, show),
  );
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    action(show, formError, list.reload);
  });
  fill(main, heading("Mail"), tabs("inbox"), h("section", { class: "card" }, h("h2", null, "Inbox"), form, formError, list.el));
  try {
    for (const s of (await api("GET", "/api/sites")).sites) site.input.append(h("option", { value: s.name }, s.name));
  } catch (err) {
    formError.textContent = err.message;
  }
  await list.reload();
}

/** The frame's own policy: nothing remote, no scripts; inline images (data:) only. */
const FRAME_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'";

function htmlFrame(safeHtml, subject) {
  const doc =
    `<!doctype html><html><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="${FRAME_CSP}">` +
    `<base target="_blank"></head><body>${safeHtml}</body></html>`;
  return h("iframe", {
    class: "mail-html",
    sandbox: "",
    srcdoc: doc,
    title: `HTML of ${subject || "the message"}`,
    referrerpolicy: "no-referrer",
  });
}

async function inboxMessage(main, id) {
  const error = errorSlot();
  fill(main, heading("Received message"), tabs("inbox"), error);
  let m;
  try {
    m = await api("GET", `/api/mail/inbox/${seg(id)}`);
  } catch (err) {
    error.textContent = err.message;
    return;
  }
  const fact = (k, v) => [h("dt", null, k), h("dd", null, v)];
  const deleteError = errorSlot();
  const remove = confirmButton("Delete message", "Press again to delete", { class: "danger" }, async (b) => {
    if (await action(b, deleteError, () => api("DELETE", `/api/mail/inbox/${seg(id)}`))) location.hash = "#/mail/inbox";
  });
  const pending = m.body === "pending" ? h("p", { class: "muted" }, "The body is still being fetched from the provider.") : null;
  const failed = m.body === "failed" ? h("p", { class: "error" }, `Fetching the body failed: ${m.fetch_error ?? "unknown error"}`) : null;
  main.append(
    h(
      "section",
      { class: "card" },
      h("h2", null, m.subject || "(no subject)"),
      h(
        "dl",
        { class: "facts" },
        fact("From", m.from),
        fact("To", addresses(m.to)),
        fact("Received", `${when(m.received_at)} (${m.source})`),
        fact("Size", bytes(m.bytes)),
        m.message_id ? fact("Message-ID", h("code", null, m.message_id)) : null,
      ),
      pending,
      failed,
      h("p", null, remove, deleteError),
    ),
    m.html !== null ? h("section", { class: "card" }, h("h2", null, "HTML"), htmlFrame(m.html, m.subject)) : null,
    h(
      "section",
      { class: "card" },
      h("h2", null, "Text"),
      m.text ? h("pre", { class: "mail-text", tabindex: "0" }, m.text) : h("p", { class: "muted" }, "No text part."),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", null, "Attachments"),
      m.attachments.length
        ? h(
            "ul",
            { class: "attachments" },
            m.attachments.map((a) =>
              h(
                "li",
                null,
                h("a", { href: a.url, download: a.filename }, a.filename),
                h("span", { class: "muted" }, ` ${a.content_type}, ${bytes(a.size)}`),
              ),
            ),
          )
        : h("p", { class: "muted" }, "None."),
    ),
  );
}
