// Sites: the list (live deploy, size, views today, domains) and a form to create one.
import { api, seg } from "./api.js";
import { h, fill, field, errorSlot, action, bytes, num, table, heading, when } from "./dom.js";

export async function render(main) {
  const list = h("div", null, h("p", { class: "muted" }, "Loading…"));
  const listError = errorSlot();
  fill(
    main,
    heading("Sites"),
    createForm(() => load(list, listError)),
    h("section", { class: "card" }, h("h2", null, "All sites"), list, listError),
  );
  await load(list, listError);
}

function createForm(onCreated) {
  const name = field("Site name", { name: "name", autocomplete: "off", placeholder: "blog", pattern: "[a-z0-9\\-]+", required: true });
  const domains = field("Custom domains (optional, comma-separated)", {
    name: "domains",
    autocomplete: "off",
    placeholder: "blog.example.com",
  });
  const error = errorSlot();
  const button = h("button", { type: "submit" }, "Create site");
  const created = h("div", { "aria-live": "polite" });
  const form = h(
    "form",
    null,
    h(
      "div",
      { class: "row" },
      h("div", { class: "grow" }, name.wrap),
      h("div", { class: "grow" }, domains.wrap),
      h("div", { class: "field" }, button),
    ),
    error,
    created,
  );
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const list = domains.input.value
      .split(",")
      .map((d) => d.trim())
      .filter(Boolean);
    const site = await action(button, error, () => api("POST", "/api/sites", { name: name.input.value.trim(), domains: list }));
    if (!site) return;
    fill(
      created,
      h(
        "p",
        { class: "notice" },
        "Created ",
        h("a", { href: `#/sites/${seg(site.name)}` }, site.name),
        ". Upload a first deploy on its page.",
      ),
    );
    form.reset();
    await onCreated();
  });
  return h("section", { class: "card" }, h("h2", null, "Create a site"), form);
}

async function load(list, error) {
  error.textContent = "";
  try {
    const { sites } = await api("GET", "/api/sites");
    fill(
      list,
      table(
        ["Name", "Address", "Live deploy", { label: "Size", num: true }, { label: "Views today", num: true }, "Domains"],
        sites.map((s) =>
          h(
            "tr",
            null,
            h("td", null, h("a", { href: `#/sites/${seg(s.name)}` }, s.name)),
            h("td", null, h("a", { href: s.url, target: "_blank", rel: "noopener" }, s.url)),
            h(
              "td",
              null,
              s.live
                ? [h("code", null, s.live.id), h("div", { class: "muted" }, when(s.live.created_at))]
                : h("span", { class: "muted" }, "none yet"),
            ),
            h("td", { class: "num" }, s.live ? bytes(s.live.bytes) : "–"),
            h("td", { class: "num" }, num(s.views_today)),
            h("td", null, s.domains.length ? s.domains.join(", ") : h("span", { class: "muted" }, "–")),
          ),
        ),
        "No sites yet. Create one above.",
      ),
    );
  } catch (err) {
    fill(list);
    error.textContent = err.message;
  }
}
