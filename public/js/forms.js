// A site's forms (#/sites/NAME/forms): each form with where it is declared and
// its count; one form's submissions (#/sites/NAME/forms/FORM), newest first,
// a page at a time, with file downloads, a CSV export and delete.
import { api, seg } from "./api.js";
import { h, fill, errorSlot, action, bytes, num, when, table, heading } from "./dom.js";
import { tabs } from "./site.js";

const PAGE = 25;
const EXAMPLE = `<form method="post" action="/.fazt/forms/contact" data-fazt-form="contact">
  <label>Email <input name="email" type="email"></label>
  <input name="_gotcha" hidden tabindex="-1" autocomplete="off">
  <button>Send</button>
</form>`;

export async function render(main, name, form) {
  if (form) return renderForm(main, name, form);
  const list = h("div", null, h("p", { class: "muted" }, "Loading…"));
  const error = errorSlot();
  fill(
    main,
    heading(`${name}: forms`),
    tabs(name, "forms"),
    h("section", { class: "card" }, h("h2", null, "Forms"), list, error),
    h(
      "section",
      { class: "card" },
      h("h2", null, "Adding a form"),
      h(
        "p",
        null,
        "Point a form at ",
        h("code", null, "/.fazt/forms/NAME"),
        " and mark it with ",
        h("code", null, 'data-fazt-form="NAME"'),
        ":",
      ),
      h("pre", null, EXAMPLE),
      h("p", { class: "muted" }, "Forms can also be declared, with addresses to notify, in the site's settings (forms)."),
    ),
  );
  try {
    const r = await api("GET", `/api/sites/${seg(name)}/forms`);
    fill(
      list,
      table(
        ["Form", "Declared in", { label: "Submissions", num: true }, "Last", "Notifies"],
        r.forms.map((f) =>
          h(
            "tr",
            null,
            h("td", null, h("a", { href: `#/sites/${seg(name)}/forms/${seg(f.name)}` }, f.name)),
            h("td", null, f.declared.length ? f.declared.join(", ") : "not declared (refused)"),
            h("td", { class: "num" }, num(f.submissions)),
            h("td", null, when(f.last_at)),
            h("td", null, f.notify.join(", ") || "–"),
          ),
        ),
        "No forms yet.",
      ),
    );
  } catch (err) {
    fill(list);
    error.textContent = err.message;
  }
}

async function renderForm(main, name, form) {
  const base = `/api/sites/${seg(name)}/forms/${seg(form)}/submissions`;
  const rows = h("div", { "aria-live": "polite" });
  const error = errorSlot();
  const more = h("button", { type: "button", class: "secondary", hidden: true }, "Show older");
  let next = null;
  const shown = [];
  const load = async () => {
    const r = await api("GET", `${base}?limit=${PAGE}${next ? `&before=${seg(next)}` : ""}`);
    shown.push(...r.submissions);
    next = r.next;
    more.hidden = !next;
    draw();
  };
  const draw = () =>
    fill(
      rows,
      table(
        ["Received", "Fields", "Files", ""],
        shown.map((s) =>
          submissionRow(s, base, () => {
            shown.splice(shown.indexOf(s), 1);
            draw();
          }),
        ),
        "No submissions yet.",
      ),
    );
  more.addEventListener("click", () => action(more, error, load));
  fill(
    main,
    heading(`${name}: form ${form}`),
    tabs(name, "forms"),
    h(
      "section",
      { class: "card" },
      h("h2", null, "Submissions"),
      h(
        "p",
        null,
        h("a", { href: `#/sites/${seg(name)}/forms` }, "All forms"),
        " · ",
        h("a", { href: `${base}?format=csv`, download: `${name}-${form}.csv` }, "Export CSV"),
      ),
      rows,
      more,
      error,
    ),
  );
  try {
    await load();
  } catch (err) {
    error.textContent = err.message;
  }
}

function submissionRow(s, base, onDeleted) {
  const rowError = errorSlot();
  const del = h("button", { type: "button", class: "danger", "aria-label": `Delete submission ${s.id}` }, "Delete");
  del.addEventListener("click", async () => {
    if (!confirm("Delete this submission and its files?")) return;
    if (await action(del, rowError, () => api("DELETE", `${base}/${seg(s.id)}`))) onDeleted();
  });
  const fields = h(
    "dl",
    { class: "fields" },
    s.fields.map((f) => [h("dt", null, f.name), h("dd", null, f.value)]),
  );
  const files = s.files.map((f) =>
    h("div", null, h("a", { href: `${base}/${seg(s.id)}/files/${f.seq}`, download: f.filename }, f.filename), ` (${bytes(f.size)})`),
  );
  return h(
    "tr",
    null,
    h("td", null, when(s.created_at)),
    h("td", null, fields),
    h("td", null, files.length ? files : "–"),
    h("td", null, del, rowError),
  );
}
