// System: version, uptime, database and WAL size, memory, certificates that
// need attention (failing, pending, expiring within three weeks), the last
// warnings and errors logged; a backup download and a garbage collection run.
import { api } from "./api.js";
import { h, fill, errorSlot, action, bytes, when, table, heading } from "./dom.js";

function duration(s) {
  const d = Math.floor(s / 86400);
  const hrs = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${hrs} h` : hrs ? `${hrs} h ${m} min` : `${m} min ${s % 60} s`;
}

export async function render(main) {
  const error = errorSlot();
  fill(main, heading("System"), error);
  let s;
  try {
    s = await api("GET", "/api/system");
  } catch (err) {
    error.textContent = err.message;
    return;
  }
  const fact = (k, v) => [h("dt", null, k), h("dd", null, v)];
  main.append(
    h(
      "section",
      { class: "card" },
      h("h2", null, "Server"),
      h(
        "dl",
        { class: "facts" },
        fact("Version", s.version),
        fact("Bun", s.bun),
        fact("Started", when(s.started_at)),
        fact("Uptime", duration(s.uptime_s)),
        fact("Database", h("code", null, s.database.path)),
        fact("Database size", bytes(s.database.bytes)),
        fact("WAL size", bytes(s.database.wal_bytes)),
        fact("Memory (RSS)", bytes(s.memory.rss)),
        fact("JavaScript heap", `${bytes(s.memory.heap_used)} of ${bytes(s.memory.heap_total)}`),
      ),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", null, "Certificates needing attention"),
      table(
        ["Names", "State", "Expires", "Failures", "Last error"],
        s.certificate_problems.map((c) =>
          h(
            "tr",
            null,
            h("td", null, c.names.join(", ")),
            h("td", null, h("span", { class: `badge ${c.state}` }, c.state)),
            h("td", null, when(c.not_after)),
            h("td", { class: "num" }, c.failures),
            h("td", null, c.last_error ?? "–"),
          ),
        ),
        "None: every certificate is valid for three weeks or more.",
      ),
    ),
    h(
      "section",
      { class: "card" },
      h("h2", null, "Recent errors and warnings"),
      table(
        ["When", "Level", "Message", "Details"],
        s.recent_errors.map((r) =>
          h(
            "tr",
            null,
            h("td", null, when(r.t)),
            h("td", null, h("span", { class: `badge ${r.level}` }, r.level)),
            h("td", null, r.msg),
            h("td", { class: "detail" }, r.detail ?? "–"),
          ),
        ),
        "None since the server started.",
      ),
    ),
    maintenance(),
  );
}

function maintenance() {
  const gc = h("button", { type: "button", class: "secondary" }, "Collect garbage now");
  const result = h("p", { class: "muted", "aria-live": "polite" });
  const error = errorSlot();
  gc.addEventListener("click", async () => {
    result.textContent = "";
    const r = await action(gc, error, () => api("POST", "/api/gc"));
    if (!r) return;
    const removed = `Removed ${r.blobs} unused contents and ${r.uploads} stale uploads (${bytes(r.bytes)})`;
    result.textContent = `${removed}; ${bytes(r.reclaimed)} reclaimed.`;
  });
  return h(
    "section",
    { class: "card" },
    h("h2", null, "Maintenance"),
    h(
      "p",
      null,
      h("a", { class: "button", href: "/api/backup", download: "" }, "Download a backup"),
      " ",
      h("span", { class: "muted" }, "a consistent copy of the database"),
    ),
    h("p", null, gc, " ", h("span", { class: "muted" }, "content no deploy or mail uses any more (runs on its own too)")),
    result,
    error,
  );
}
