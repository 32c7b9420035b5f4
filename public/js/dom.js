// DOM helpers: h() builds elements, action() gives every button a busy state
// and shows the API's error next to it.

/** h("button", {class: "x", onclick: fn}, "text", child...) */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key === "value") el.value = value;
    else if (key === "checked") el.checked = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replace an element's content. */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

let ids = 0;
/** A labelled field: returns {wrap, input}. */
export function field(label, props = {}, tag = "input") {
  const id = props.id ?? `f${++ids}`;
  const input = h(tag, { type: tag === "input" ? "text" : undefined, ...props, id });
  return { wrap: h("div", { class: "field" }, h("label", { for: id }, label), input), input };
}

/** An element that shows an error message (role=alert so it is read out). */
export function errorSlot() {
  return h("p", { class: "error", role: "alert" });
}

/**
 * Run fn for a button: disabled and aria-busy meanwhile; a failure's message
 * goes into errorEl. Resolves to fn's result, or undefined when it failed.
 */
export async function action(button, errorEl, fn) {
  if (errorEl) errorEl.textContent = "";
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await fn();
  } catch (err) {
    if (errorEl) errorEl.textContent = err.message ?? String(err);
    else throw err;
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

export function bytes(n) {
  if (n === null || n === undefined) return "–";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${i === 0 ? n : n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

export function when(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function num(n) {
  return (n ?? 0).toLocaleString();
}

export function table(head, rows, emptyText) {
  if (rows.length === 0) return h("p", { class: "muted" }, emptyText);
  return h(
    "div",
    { class: "table-wrap" },
    h(
      "table",
      null,
      h("thead", null, h("tr", null, head.map((c) => h("th", { scope: "col", class: c.num ? "num" : undefined }, c.label ?? c)))),
      h("tbody", null, rows),
    ),
  );
}

/** The screen's heading, focused after navigation so keyboard and screen reader users land on it. */
export function heading(text) {
  return h("h1", { tabindex: "-1" }, text);
}
