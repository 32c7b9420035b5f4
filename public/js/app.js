// The shell: sign-in, the navigation bar and a hash router (#/sites,
// #/sites/NAME, #/sites/NAME/analytics, #/sites/NAME/forms[/FORM],
// #/mail/outbox|inbox|send[/ID], #/tokens, #/system). Each screen is a module
// exporting render(main, params).
import { api, setSession, whenSignedOut } from "./api.js";
import { h, fill, field, errorSlot, action } from "./dom.js";
import * as sites from "./sites.js";

const root = document.getElementById("root");
let session = null;

/** The screens, in navigation order. */
const SCREENS = [
  { nav: "Sites", href: "#/sites", match: /^(?:sites)?$/, load: async () => sites },
  { match: /^sites\/([^/]+)$/, section: "Sites", load: () => import("./site.js") },
  { match: /^sites\/([^/]+)\/analytics$/, section: "Sites", load: () => import("./analytics.js") },
  { match: /^sites\/([^/]+)\/forms$/, section: "Sites", load: () => import("./forms.js") },
  { match: /^sites\/([^/]+)\/forms\/([^/]+)$/, section: "Sites", load: () => import("./forms.js") },
  { nav: "Mail", href: "#/mail/outbox", match: /^mail(?:\/(outbox|inbox|send)(?:\/([^/]+))?)?$/, load: () => import("./mail.js") },
  { nav: "Tokens", href: "#/tokens", match: /^tokens$/, load: () => import("./tokens.js") },
  { nav: "System", href: "#/system", match: /^system$/, load: () => import("./system.js") },
];

function signIn(message) {
  session = null;
  setSession(null);
  const user = field("Username", { name: "username", autocomplete: "username", required: true });
  const pass = field("Password", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = errorSlot();
  if (message) error.textContent = message;
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h("form", { class: "card signin-form" }, user.wrap, pass.wrap, button, error);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const s = await action(button, error, () => api("POST", "/api/session", { username: user.input.value, password: pass.input.value }));
    if (s) start(s);
    else pass.input.select();
  });
  fill(root, h("main", { id: "main", class: "signin" }, h("h1", null, "Fazt"), h("section", { class: "card" }, form)));
  user.input.focus();
  firstScreen();
}

function shell() {
  const signOut = h("button", { type: "button", class: "secondary" }, "Sign out");
  signOut.addEventListener("click", () =>
    action(signOut, null, async () => {
      try {
        await api("DELETE", "/api/session");
      } finally {
        location.hash = "";
        signIn();
      }
    }),
  );
  const nav = h(
    "nav",
    { "aria-label": "Main" },
    SCREENS.filter((s) => s.nav).map((s) => h("a", { href: s.href, "data-nav": s.nav }, s.nav)),
  );
  const main = h("main", { id: "main" });
  fill(
    root,
    h(
      "header",
      { class: "bar" },
      h("a", { class: "brand", href: "#/sites" }, "Fazt"),
      nav,
      h("div", { class: "who" }, h("span", null, session.user), signOut),
    ),
    main,
  );
  return { nav, main };
}

let view = null;
let routeSeq = 0;

async function route() {
  if (!session) return;
  view ??= shell();
  const path = location.hash.replace(/^#\/?/, "");
  const screen = SCREENS.find((s) => s.match.test(path));
  const seq = ++routeSeq;
  const section = screen?.nav ?? screen?.section;
  for (const a of view.nav.querySelectorAll("a")) {
    if (a.dataset.nav === section) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  if (!screen) return fill(view.main, h("h1", null, "Not found"), h("p", null, h("a", { href: "#/sites" }, "Back to the sites")));
  const mod = await screen.load();
  if (seq !== routeSeq) return; // a newer navigation won
  const params = screen.match
    .exec(path)
    .slice(1)
    .map((p) => (p === undefined ? undefined : decodeURIComponent(p)));
  fill(view.main);
  await mod.render(view.main, ...params);
  if (seq === routeSeq) view.main.querySelector("h1")?.focus({ preventScroll: true });
  firstScreen();
}

/** Marks when the first screen became usable (performance timing, read by the browser test). */
function firstScreen() {
  if (performance.getEntriesByName("fazt:first-screen").length === 0) performance.mark("fazt:first-screen");
}

function start(s) {
  session = s;
  setSession(s);
  view = null;
  route();
}

whenSignedOut(() => {
  if (session) signIn("Your session has ended. Please sign in again.");
});
addEventListener("hashchange", route);

api("GET", "/api/session").then(
  (s) => (s.via === "session" ? start(s) : signIn()),
  () => signIn(),
);
