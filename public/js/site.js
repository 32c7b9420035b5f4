// One site: upload a deploy, its deploy history (activate = rollback or
// promote, preview links), custom domains with their certificates, settings,
// and deletion with a typed confirmation.
import { api, seg } from "./api.js";
import { h, fill, field, errorSlot, action, bytes, when, table, heading } from "./dom.js";
import { uploader } from "./upload.js";

export async function render(main, name) {
  const base = `/api/sites/${seg(name)}`;
  let site;
  try {
    site = await api("GET", base);
  } catch (err) {
    fill(main, heading(name), h("p", { class: "error", role: "alert" }, err.message), h("p", null, h("a", { href: "#/sites" }, "Back to the sites")));
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
    h("section", { class: "card" }, h("h2", null, "Deploys"), deploys, deploysError),
    domainsCard(base, site),
    settingsCard(base, site),
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
            if (await action(activate, rowError, () => api("POST", `${base}/deploys/${seg(d.id)}/activate`))) await loadDeploys(base, el, error);
          });
          return h(
            "tr",
            { "data-deploy": d.id },
            h("td", null, h("code", null, d.id)),
            h("td", null, when(d.created_at)),
            h("td", null, d.created_by ?? h("span", { class: "muted" }, "–")),
            h("td", { class: "num" }, d.files),
            h("td", { class: "num" }, bytes(d.bytes)),
            h("td", null, d.live ? h("span", { class: "badge live" }, "live") : h("a", { href: d.preview_url, target: "_blank", rel: "noopener" }, "preview")),
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
  const form = h("form", null, h("div", { class: "row" }, h("div", { class: "grow" }, domain.wrap), h("div", { class: "field" }, add)), error);
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

function settingsCard(base, site) {
  const error = errorSlot();
  const saved = h("p", { class: "muted", "aria-live": "polite" });
  const spa = h("input", { type: "checkbox", id: "spa", name: "spa" });
  const hsts = field("HSTS (Strict-Transport-Security, HTTPS only)", { name: "hsts" }, "select");
  for (const [value, label] of HSTS_CHOICES) hsts.input.append(h("option", { value }, label));
  const sub = h("input", { type: "checkbox", id: "hsts-sub", name: "include_subdomains" });
  const save = h("button", { type: "submit" }, "Save settings");
  const form = h(
    "form",
    null,
    h("div", { class: "field" }, h("label", { class: "check", for: "spa" }, spa, "Single-page app: answer unknown paths with the app's page (/index.html)")),
    hsts.wrap,
    h("div", { class: "field" }, h("label", { class: "check", for: "hsts-sub" }, sub, "HSTS includes subdomains")),
    save,
    error,
    saved,
  );
  let spaPath = null;
  const show = (s) => {
    spaPath = s.spa;
    spa.checked = s.spa !== null;
    const age = s.hsts?.max_age ?? 0;
    hsts.input.value = String(HSTS_CHOICES.some(([v]) => v === age) ? age : 0);
    sub.checked = s.hsts?.include_subdomains === true;
  };
  api("GET", `${base}/settings`).then((r) => show(r.settings), (err) => (error.textContent = err.message));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    saved.textContent = "";
    const maxAge = Number(hsts.input.value);
    const body = { spa: spa.checked ? (spaPath ?? true) : null, hsts: maxAge > 0 ? { max_age: maxAge, include_subdomains: sub.checked } : null };
    const r = await action(save, error, () => api("PATCH", `${base}/settings`, body));
    if (r) {
      show(r.settings);
      saved.textContent = "Saved; applied without a restart.";
    }
  });
  return h("section", { class: "card" }, h("h2", null, "Settings"), form);
}

function deleteCard(base, site) {
  const confirm = field(`Type ${site.name} to confirm`, { name: "confirm", autocomplete: "off" });
  const error = errorSlot();
  const button = h("button", { type: "submit", class: "danger", disabled: true }, "Delete site");
  confirm.input.addEventListener("input", () => (button.disabled = confirm.input.value !== site.name));
  const form = h("form", null, h("p", null, "Deleting a site removes its deploys, domains and analytics. This cannot be undone."), confirm.wrap, button, error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    if (confirm.input.value !== site.name) return;
    if (await action(button, error, () => api("DELETE", base))) location.hash = "#/sites";
    else button.disabled = confirm.input.value !== site.name;
  });
  return h("section", { class: "card" }, h("h2", null, "Delete this site"), form);
}
