// One site: upload a deploy, its deploy history (activate = rollback or
// promote, preview links), custom domains with their certificates, settings,
// and deletion with a typed confirmation.
import { api, send, seg } from "./api.js";
import { h, fill, field, errorSlot, action, bytes, when, table, heading, showFieldError, clearFieldErrors } from "./dom.js";
import { uploader } from "./upload.js";

export async function render(main, name) {
  const base = `/api/sites/${seg(name)}`;
  let site;
  try {
    site = await api("GET", base);
  } catch (err) {
    fill(
      main,
      heading(name),
      h("p", { class: "error", role: "alert" }, err.message),
      h("p", null, h("a", { href: "#/sites" }, "Back to the sites")),
    );
    return;
  }
  const deploys = h("div");
  const deploysError = errorSlot();
  const refresh = () => loadDeploys(base, deploys, deploysError);
  fill(
    main,
    heading(site.name),
    tabs(site.name, "deploys"),
    h("p", null, "Live at ", h("a", { href: site.url, target: "_blank", rel: "noopener", id: "live-url" }, site.url)),
    h("section", { class: "card" }, h("h2", null, "Upload a deploy"), uploader(base, refresh)),
    h("section", { class: "card" }, h("h2", null, "Change one file"), oneFileForm(base, refresh)),
    h("section", { class: "card" }, h("h2", null, "Deploys"), deploys, deploysError),
    domainsCard(base, site),
    settingsCard(base),
    deleteCard(base, site),
  );
  await refresh();
}

export function tabs(name, current) {
  const link = (id, label, href) => h("a", { href, "aria-current": id === current ? "page" : undefined }, label);
  return h(
    "nav",
    { class: "tabs", "aria-label": "Site" },
    link("deploys", "Deploys & settings", `#/sites/${seg(name)}`),
    link("analytics", "Analytics", `#/sites/${seg(name)}/analytics`),
    link("forms", "Forms", `#/sites/${seg(name)}/forms`),
  );
}

/** PUT /api/sites/NAME/files/PATH: a new deploy that is the live one with one file added or replaced. */
function oneFileForm(base, onDeployed) {
  const path = field("Path in the site", { name: "path", autocomplete: "off", placeholder: "/about/index.html", required: true });
  const file = field("File", { name: "file", type: "file", required: true });
  const activate = h("input", { type: "checkbox", id: "file-activate", checked: true });
  const error = errorSlot();
  const done = h("p", { class: "muted", "aria-live": "polite" });
  const button = h("button", { type: "submit" }, "Upload file");
  const form = h(
    "form",
    null,
    h("div", { class: "row" }, h("div", { class: "grow" }, path.wrap), h("div", { class: "grow" }, file.wrap)),
    h("div", { class: "field" }, h("label", { class: "check", for: "file-activate" }, activate, "Make it live (else a preview)")),
    button,
    error,
    done,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    done.textContent = "";
    const f = file.input.files[0];
    const p = path.input.value.trim().replace(/^\/+/, "");
    if (!f || !p) return;
    const url = `${base}/files/${p.split("/").map(seg).join("/")}${activate.checked ? "" : "?activate=false"}`;
    const d = await action(button, error, () => send("PUT", url, f));
    if (!d) return;
    const link = h("a", { href: d.url, target: "_blank", rel: "noopener" }, d.url);
    fill(done, `Deploy ${d.id}: ${d.files} files. `, d.live ? "Live at " : "Preview at ", link);
    form.reset();
    await onDeployed();
  });
  return form;
}

async function loadDeploys(base, el, error) {
  error.textContent = "";
  try {
    const { deploys } = await api("GET", `${base}/deploys`);
    fill(
      el,
      table(
        ["Deploy", "Created", "By", { label: "Files", num: true }, { label: "Size", num: true }, "State", ""],
        deploys.map((d) => {
          const rowError = errorSlot();
          const activate = h("button", { type: "button", class: "secondary" }, "Activate");
          activate.setAttribute("aria-label", `Activate deploy ${d.id}`);
          activate.addEventListener("click", async () => {
            if (await action(activate, rowError, () => api("POST", `${base}/deploys/${seg(d.id)}/activate`)))
              await loadDeploys(base, el, error);
          });
          return h(
            "tr",
            { "data-deploy": d.id },
            h("td", null, h("code", null, d.id)),
            h("td", null, when(d.created_at)),
            h("td", null, d.created_by ?? h("span", { class: "muted" }, "–")),
            h("td", { class: "num" }, d.files),
            h("td", { class: "num" }, bytes(d.bytes)),
            h(
              "td",
              null,
              d.live
                ? h("span", { class: "badge live" }, "live")
                : h("a", { href: d.preview_url, target: "_blank", rel: "noopener" }, "preview"),
            ),
            h("td", null, d.live ? null : activate, rowError),
          );
        }),
        "No deploys yet: upload a folder or an archive above.",
      ),
    );
  } catch (err) {
    error.textContent = err.message;
  }
}

function domainsCard(base, site) {
  const list = h("div");
  const error = errorSlot();
  const domain = field("Domain", { name: "domain", autocomplete: "off", placeholder: "www.example.com", required: true });
  const add = h("button", { type: "submit" }, "Add domain");
  const form = h(
    "form",
    null,
    h("div", { class: "row" }, h("div", { class: "grow" }, domain.wrap), h("div", { class: "field" }, add)),
    error,
  );
  let domains = [...site.domains];
  const load = async () => {
    let certs = [];
    try {
      certs = (await api("GET", "/api/certificates")).certificates;
    } catch (err) {
      error.textContent = `certificates: ${err.message}`;
    }
    const certFor = (d) => certs.find((c) => c.names.includes(d));
    fill(
      list,
      table(
        ["Domain", "Certificate", "Expires", "Last error", ""],
        domains.map((d) => {
          const c = certFor(d);
          const rowError = errorSlot();
          const remove = h("button", { type: "button", class: "secondary", "aria-label": `Remove domain ${d}` }, "Remove");
          remove.addEventListener("click", async () => {
            if (await action(remove, rowError, () => api("DELETE", `${base}/domains/${seg(d)}`))) {
              domains = domains.filter((x) => x !== d);
              await load();
            }
          });
          return h(
            "tr",
            null,
            h("td", null, d),
            h("td", null, h("span", { class: `badge ${c?.state ?? ""}` }, c?.state ?? "none")),
            h("td", null, c?.not_after ? when(c.not_after) : "–"),
            h("td", null, c?.last_error ?? "–"),
            h("td", null, remove, rowError),
          );
        }),
        "No custom domains.",
      ),
    );
  };
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await action(add, error, () => api("POST", `${base}/domains`, { domain: domain.input.value.trim() }));
    if (!r) return;
    domains.push(r.domain);
    form.reset();
    await load();
  });
  load();
  return h("section", { class: "card" }, h("h2", null, "Domains"), list, form);
}

const HSTS_CHOICES = [
  [0, "Off"],
  [300, "5 minutes (trying it out)"],
  [86400, "1 day"],
  [31536000, "1 year"],
  [63072000, "2 years"],
];

const TRAILING_SLASH = [
  ["auto", "Auto: folders get a slash, files none"],
  ["always", "Always add a slash"],
  ["never", "Never: remove it"],
];

/** Every setting of the site (GET/PATCH /api/sites/NAME/settings); the API's errors appear under the field they name. */
function settingsCard(base) {
  const formError = errorSlot();
  const saved = h("p", { class: "muted", "aria-live": "polite" });
  const spaOn = h("input", { type: "checkbox", id: "spa", name: "spa" });
  const spa = field("SPA fallback page", { name: "spa_path", autocomplete: "off", placeholder: "/index.html" });
  const hsts = field("HSTS (Strict-Transport-Security, HTTPS only)", { name: "hsts" }, "select");
  for (const [value, label] of HSTS_CHOICES) hsts.input.append(h("option", { value }, label));
  const sub = h("input", { type: "checkbox", id: "hsts-sub", name: "include_subdomains" });
  const slash = field("Trailing slash", { name: "trailing_slash" }, "select");
  for (const [value, label] of TRAILING_SLASH) slash.input.append(h("option", { value }, label));
  const notFound = field("404 page (empty: the nearest 404.html)", { name: "not_found", autocomplete: "off", placeholder: "/404.html" });
  const dotfiles = h("input", { type: "checkbox", id: "dotfiles", name: "dotfiles" });
  const dotfilesError = h("p", { class: "error", id: "dotfiles-error" });
  const headers = headersEditor();
  const password = field("Site password (visitors sign in on a page of the site; empty: unchanged)", {
    name: "password",
    type: "password",
    autocomplete: "new-password",
    maxlength: "256",
  });
  const passwordState = h("p", { class: "muted", id: "password-state" });
  const clearPassword = h("input", { type: "checkbox", id: "password-clear", name: "password_clear" });
  const clearPasswordField = h(
    "div",
    { class: "field" },
    h("label", { class: "check", for: "password-clear" }, clearPassword, "Remove the site password"),
  );
  const privatePreviews = h("input", { type: "checkbox", id: "private-previews", name: "private_previews" });
  const privatePreviewsError = h("p", { class: "error", id: "private-previews-error" });
  const save = h("button", { type: "submit" }, "Save settings");
  const byField = {
    spa: spa.error,
    hsts: hsts.error,
    trailing_slash: slash.error,
    not_found: notFound.error,
    headers: headers.error,
    dotfiles: dotfilesError,
    password: password.error,
    private_previews: privatePreviewsError,
  };
  spaOn.addEventListener("change", () => (spa.input.disabled = !spaOn.checked));
  const form = h(
    "form",
    null,
    h(
      "div",
      { class: "field" },
      h("label", { class: "check", for: "spa" }, spaOn, "Single-page app: answer unknown paths with the app's page"),
    ),
    spa.wrap,
    h("div", { class: "row" }, h("div", { class: "grow" }, hsts.wrap), h("div", { class: "grow" }, slash.wrap)),
    h("div", { class: "field" }, h("label", { class: "check", for: "hsts-sub" }, sub, "HSTS includes subdomains")),
    notFound.wrap,
    h(
      "div",
      { class: "field" },
      h("label", { class: "check", for: "dotfiles" }, dotfiles, "Publish dotfiles (files and folders starting with a dot)"),
      dotfilesError,
    ),
    headers.el,
    password.wrap,
    passwordState,
    clearPasswordField,
    h(
      "div",
      { class: "field" },
      h(
        "label",
        { class: "check", for: "private-previews" },
        privatePreviews,
        "Private previews: previews need the site password or an API token",
      ),
      privatePreviewsError,
    ),
    save,
    formError,
    saved,
  );
  const show = (s) => {
    spaOn.checked = s.spa !== null;
    spa.input.value = s.spa ?? "/index.html";
    spa.input.disabled = s.spa === null;
    const age = s.hsts?.max_age ?? 0;
    // A value set elsewhere (CLI, API) that is not a choice joins the list, so saving keeps it.
    if (!HSTS_CHOICES.some(([v]) => v === age)) hsts.input.append(h("option", { value: age }, `${age} seconds`));
    hsts.input.value = String(age);
    sub.checked = s.hsts?.include_subdomains === true;
    slash.input.value = s.trailing_slash;
    notFound.input.value = s.not_found ?? "";
    dotfiles.checked = s.dotfiles;
    headers.set(s.headers);
    // The API tells only whether a password is set, never the password.
    password.input.value = "";
    passwordState.textContent = s.password ? "A site password is set." : "No site password: the site is public.";
    clearPassword.checked = false;
    clearPasswordField.hidden = !s.password;
    privatePreviews.checked = s.private_previews;
  };
  api("GET", `${base}/settings`).then(
    (r) => show(r.settings),
    (err) => (formError.textContent = err.message),
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    saved.textContent = "";
    clearFieldErrors(byField, formError);
    const maxAge = Number(hsts.input.value);
    const body = {
      spa: spaOn.checked ? spa.input.value.trim() || true : null,
      hsts: maxAge > 0 ? { max_age: maxAge, include_subdomains: sub.checked } : null,
      trailing_slash: slash.input.value,
      not_found: notFound.input.value.trim() || null,
      headers: headers.get(),
      dotfiles: dotfiles.checked,
      private_previews: privatePreviews.checked,
    };
    if (clearPassword.checked) body.password = null;
    else if (password.input.value !== "") body.password = password.input.value;
    const patch = () => api("PATCH", `${base}/settings`, body);
    const r = await action(save, null, patch).catch((err) => showFieldError(err, byField, formError));
    if (r?.settings) {
      show(r.settings);
      saved.textContent = "Saved; applied without a restart.";
    }
  });
  return h("section", { class: "card" }, h("h2", null, "Settings"), form);
}

/** Response headers as name/value rows: add, edit, remove. */
function headersEditor() {
  const rows = h("div");
  const error = h("p", { class: "error", id: "headers-error" });
  const add = h("button", { type: "button", class: "secondary" }, "Add header");
  const addRow = (name = "", value = "") => {
    const n = rows.children.length + 1;
    const input = (what, v, placeholder) =>
      h("input", { type: "text", value: v, "aria-label": `Header ${n} ${what}`, placeholder, autocomplete: "off" });
    const nameInput = input("name", name, "X-Frame-Options");
    const valueInput = input("value", value, "DENY");
    const remove = h("button", { type: "button", class: "secondary", "aria-label": `Remove header ${n}` }, "Remove");
    const row = h("div", { class: "kv" }, nameInput, valueInput, remove);
    remove.addEventListener("click", () => {
      row.remove();
      add.focus();
    });
    rows.append(row);
    return nameInput;
  };
  add.addEventListener("click", () => addRow().focus());
  const el = h(
    "fieldset",
    { "aria-describedby": error.id },
    h("legend", null, "Response headers on every answer (a _headers file in the deploy overrides them)"),
    rows,
    add,
    error,
  );
  return {
    el,
    error,
    set(headers) {
      fill(rows);
      for (const [name, value] of Object.entries(headers)) addRow(name, value);
    },
    get() {
      const out = {};
      for (const row of rows.children) {
        const [name, value] = row.querySelectorAll("input");
        if (name.value.trim() || value.value.trim()) out[name.value.trim()] = value.value;
      }
      return out;
    },
  };
}

function deleteCard(base, site) {
  const confirm = field(`Type ${site.name} to confirm`, { name: "confirm", autocomplete: "off" });
  const error = errorSlot();
  const button = h("button", { type: "submit", class: "danger", disabled: true }, "Delete site");
  confirm.input.addEventListener("input", () => (button.disabled = confirm.input.value !== site.name));
  const form = h(
    "form",
    null,
    h("p", null, "Deleting a site removes its deploys, domains and analytics. This cannot be undone."),
    confirm.wrap,
    button,
    error,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (confirm.input.value !== site.name) return;
    if (await action(button, error, () => api("DELETE", base))) location.hash = "#/sites";
    else button.disabled = confirm.input.value !== site.name;
  });
  return h("section", { class: "card" }, h("h2", null, "Delete this site"), form);
}
