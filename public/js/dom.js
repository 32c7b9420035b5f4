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
    else if (key === "checked")
      el.checked = el.defaultChecked = value; // the default too: form.reset() keeps it
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
/** A labelled field with its own error line: returns {wrap, input, error}. */
export function field(label, props = {}, tag = "input") {
  const id = props.id ?? `f${++ids}`;
  const error = h("p", { class: "error", id: `${id}-error` });
  const input = h(tag, { type: tag === "input" ? "text" : undefined, ...props, id, "aria-describedby": error.id });
  return { wrap: h("div", { class: "field" }, h("label", { for: id }, label), input, error), input, error };
}

/**
 * Show an API error next to the field it names. The API says "name: message"
 * (or "name.key: message") for a bad field; byField maps a field name to its
 * error element; byCode maps an error code to a field name. Anything else
 * goes to the form's own error element. Returns the element used.
 */
export function showFieldError(err, byField, formError, byCode = {}) {
  const m = /^([a-z_]+)(?:\.[^:]*)?: /.exec(err.message ?? "");
  const name = byCode[err.code] ?? (m && m[1] in byField ? m[1] : null);
  const target = name ? byField[name] : formError;
  target.textContent = err.message ?? String(err);
  if (name) document.getElementById(target.id.replace(/-error$/, ""))?.setAttribute("aria-invalid", "true");
  return target;
}

/** Clear the errors of showFieldError. */
export function clearFieldErrors(byField, formError) {
  formError.textContent = "";
  for (const el of Object.values(byField)) {
    el.textContent = "";
    document.getElementById(el.id.replace(/-error$/, ""))?.removeAttribute("aria-invalid");
  }
}

/** A button that asks once more before it acts: the first press arms it, the second runs fn. */
export function confirmButton(label, confirmLabel, props, fn) {
  const button = h("button", { type: "button", ...props }, label);
  let armed = false;
  const disarm = () => {
    armed = false;
    button.textContent = label;
  };
  button.addEventListener("click", async () => {
    if (!armed) {
      armed = true;
      button.textContent = confirmLabel;
      return;
    }
    disarm();
    await fn(button);
  });
  button.addEventListener("blur", disarm);
  return button;
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
  const hadFocus = document.activeElement === button;
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
    // A disabled button loses focus: give it back, so a keyboard user stays where they were.
    if (hadFocus && button.isConnected && document.activeElement === document.body) button.focus();
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
      h(
        "thead",
        null,
        h(
          "tr",
          null,
          head.map((c) => h("th", { scope: "col", class: c.num ? "num" : undefined }, c.label ?? c)),
        ),
      ),
      h("tbody", null, rows),
    ),
  );
}

/** The screen's heading, focused after navigation so keyboard and screen reader users land on it. */
export function heading(text) {
  return h("h1", { tabindex: "-1" }, text);
}
