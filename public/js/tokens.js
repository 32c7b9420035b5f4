// API tokens: list (never the secret), create for one site or for every site
// (admin) with a label, shown once with a copy button, and revoke.
import { api, seg } from "./api.js";
import { h, fill, field, errorSlot, action, when, table, heading } from "./dom.js";

export async function render(main) {
  const list = h("div", null, h("p", { class: "muted" }, "Loading…"));
  const listError = errorSlot();
  const reload = () => load(list, listError);
  fill(main, heading("Tokens"), await createForm(reload), h("section", { class: "card" }, h("h2", null, "Tokens"), list, listError));
  await reload();
}

async function createForm(onCreated) {
  const scope = field("Scope", { name: "scope" }, "select");
  const label = field("Label", { name: "label", autocomplete: "off", maxlength: 100, placeholder: "CI deploys" });
  const error = errorSlot();
  const button = h("button", { type: "submit" }, "Create token");
  const shown = h("div", { "aria-live": "polite" });
  scope.input.append(h("option", { value: "" }, "Admin: every site"));
  try {
    for (const s of (await api("GET", "/api/sites")).sites)
      scope.input.append(h("option", { value: s.name }, `Site ${s.name} (deploys only)`));
  } catch (err) {
    error.textContent = err.message;
  }
  const form = h(
    "form",
    null,
    h(
      "div",
      { class: "row" },
      h("div", { class: "grow" }, scope.wrap),
      h("div", { class: "grow" }, label.wrap),
      h("div", { class: "field" }, button),
    ),
    error,
    shown,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { site: scope.input.value || undefined, label: label.input.value.trim() || undefined };
    const r = await action(button, error, () => api("POST", "/api/tokens", body));
    if (!r) return;
    showOnce(shown, r.token);
    label.input.value = "";
    await onCreated();
  });
  return h("section", { class: "card" }, h("h2", null, "Create a token"), form);
}

function showOnce(el, token) {
  const out = field("New token (shown only now: copy it)", { readonly: true, value: token, class: "secret", id: "new-token" });
  const copied = h("span", { class: "muted", "aria-live": "polite" });
  const copy = h("button", { type: "button", class: "secondary" }, "Copy");
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(token);
      copied.textContent = " Copied.";
    } catch {
      out.input.select();
      copied.textContent = " Press Ctrl+C (or ⌘C) to copy.";
    }
  });
  fill(el, h("div", { class: "notice" }, out.wrap, copy, copied));
  out.input.select();
}

async function load(el, error) {
  error.textContent = "";
  try {
    const { tokens } = await api("GET", "/api/tokens");
    fill(
      el,
      table(
        ["Id", "Label", "Scope", "Created", "Last used", ""],
        tokens.map((t) => {
          const rowError = errorSlot();
          const revoke = h("button", { type: "button", class: "danger", "aria-label": `Revoke token ${t.id}` }, "Revoke");
          revoke.addEventListener("click", async () => {
            if (await action(revoke, rowError, () => api("DELETE", `/api/tokens/${seg(t.id)}`))) await load(el, error);
          });
          return h(
            "tr",
            { "data-token": t.id },
            h("td", null, h("code", null, t.id)),
            h("td", null, t.label || h("span", { class: "muted" }, "–")),
            h("td", null, t.site ? `site ${t.site}` : "admin"),
            h("td", null, when(t.created_at)),
            h("td", null, t.last_used_at ? when(t.last_used_at) : h("span", { class: "muted" }, "never")),
            h("td", null, revoke, rowError),
          );
        }),
        "No tokens.",
      ),
    );
  } catch (err) {
    error.textContent = err.message;
  }
}
