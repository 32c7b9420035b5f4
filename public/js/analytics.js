// A site's analytics for a range of UTC days: totals, a views/visitors/bots
// chart (uPlot, loaded on first use), top paths, referrers, browsers, OS,
// devices and status codes. Bots are counted apart from people.
import { api, seg } from "./api.js";
import { h, fill, field, errorSlot, action, bytes, num, table, heading } from "./dom.js";
import { tabs } from "./site.js";

const DAY = 86400_000;
const iso = (t) => new Date(t).toISOString().slice(0, 10);

export async function render(main, name) {
  const today = Date.now();
  const from = field("From", { type: "date", name: "from", value: iso(today - 6 * DAY) });
  const to = field("To", { type: "date", name: "to", value: iso(today) });
  const error = errorSlot();
  const show = h("button", { type: "submit" }, "Show");
  const report = h("div", { "aria-live": "polite" });
  const presets = [7, 30, 90].map((days) => {
    const b = h("button", { type: "button", class: "secondary" }, `Last ${days} days`);
    b.addEventListener("click", () => {
      from.input.value = iso(Date.now() - (days - 1) * DAY);
      to.input.value = iso(Date.now());
      form.requestSubmit(show);
    });
    return b;
  });
  const form = h(
    "form",
    { class: "card", "aria-label": "Date range" },
    h(
      "div",
      { class: "row" },
      h("div", null, from.wrap),
      h("div", null, to.wrap),
      h("div", { class: "field" }, show),
      h("div", { class: "field row" }, presets),
    ),
    error,
  );
  const load = () =>
    action(show, error, async () => {
      const r = await api("GET", `/api/sites/${seg(name)}/analytics?from=${from.input.value}&to=${to.input.value}&limit=20`);
      await draw(report, r);
    });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    load();
  });
  fill(main, heading(`${name}: analytics`), tabs(name, "analytics"), form, report);
  await load();
}

async function draw(el, r) {
  const t = r.totals;
  const stat = (label, value) => h("div", { class: "stat" }, h("span", { class: "muted" }, label), h("b", null, value));
  const chart = h("div", { class: "chart", role: "img", "aria-label": `Views and visitors per day from ${r.from} to ${r.to}` });
  const ranked = (title, rows, key, label) =>
    h(
      "section",
      { class: "card" },
      h("h2", null, title),
      table(
        [label, { label: "Views", num: true }],
        rows.map((row) => h("tr", null, h("td", null, row[key]), h("td", { class: "num" }, num(row.views)))),
        "Nothing yet.",
      ),
    );
  fill(
    el,
    h(
      "div",
      { class: "stats" },
      stat("Views", num(t.views)),
      stat("Visitors", num(t.visitors)),
      stat("Bytes sent", bytes(t.bytes)),
      stat("Bot requests", num(t.bots)),
      stat("All requests", num(t.requests)),
    ),
    h("section", { class: "card" }, h("h2", null, "Over time"), chart),
    h(
      "div",
      { class: "grid2" },
      ranked("Top paths", r.paths, "path", "Path"),
      ranked("Referrers", r.referrers, "referrer", "Referrer"),
      ranked("Browsers", r.browsers, "name", "Browser"),
      ranked("Operating systems", r.os, "name", "OS"),
      ranked("Devices", r.devices, "name", "Device"),
      h(
        "section",
        { class: "card" },
        h("h2", null, "Status codes"),
        table(
          ["Status", { label: "Requests", num: true }],
          [
            ...Object.entries(r.status).map(([k, n]) => h("tr", null, h("td", null, k), h("td", { class: "num" }, num(n)))),
            ...r.status_codes.map((s) => h("tr", null, h("td", null, h("code", null, s.code)), h("td", { class: "num" }, num(s.count)))),
          ],
          "Nothing yet.",
        ),
      ),
    ),
  );
  await plot(chart, r.series);
}

let uplotLoaded = null;

/** uPlot (and its stylesheet) only when a chart is first drawn. */
function loadUplot() {
  uplotLoaded ??= new Promise((resolve, reject) => {
    document.head.append(h("link", { rel: "stylesheet", href: "/ui/uplot.css" }));
    const s = h("script", { src: "/ui/uplot.js" });
    s.onload = () => resolve(window.uPlot);
    s.onerror = () => reject(new Error("the chart library did not load"));
    document.head.append(s);
  });
  return uplotLoaded;
}

async function plot(el, series) {
  const uPlot = await loadUplot();
  const xs = series.map((d) => Date.parse(`${d.date}T00:00:00Z`) / 1000);
  const width = Math.max(280, el.clientWidth);
  new uPlot(
    {
      width,
      height: 240,
      scales: { x: { time: true } },
      series: [
        {},
        { label: "Views", stroke: "#1f5fd1", width: 2 },
        { label: "Visitors", stroke: "#067647", width: 2 },
        { label: "Bots", stroke: "#b54708", width: 1, dash: [4, 4] },
      ],
      axes: [{}, { size: 50 }],
    },
    [xs, series.map((d) => d.views), series.map((d) => d.visitors), series.map((d) => d.bots)],
    el,
  );
}
