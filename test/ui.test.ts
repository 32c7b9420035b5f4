// The admin UI in real headless Chromium against the compiled binary: one
// browser, one server (with the Resend stand-in and an SMTP listener), the
// steps of a user's session in order. Every screen is checked with axe-core
// (no serious or critical violations). Screenshots of every screen go to
// $FAZT_UI_SCREENSHOTS when it is set (never into the repo).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { ROOT, cleanup, hostFetch, runFazt, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";
import { launchChromium } from "./helpers/browser.ts";
import { waitFor } from "./helpers/wait.ts";
import { ResendStandIn } from "./helpers/resend.ts";
import { uiBytes } from "../src/ui/index.ts";

const USER = "admin";
const PASSWORD = "correct horse battery";
const SHOTS = process.env.FAZT_UI_SCREENSHOTS;
const AXE = readFileSync(join(ROOT, "node_modules/axe-core/axe.min.js"), "utf8");
const MAIL_DOMAIN = "blog.example.com";

let dir: string;
let f: FaztProcess;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let admin: string;
let resend: ResendStandIn;
let smtpPort: number;
/** Requests to a server that a received mail's HTML points at: none may arrive. */
let pixel: ReturnType<typeof Bun.serve>;
let pixelHits = 0;
/** Screens reached by id during the session (message pages), checked by axe at the end. */
const visited = new Set<string>();
/** Console errors and page errors, with the step they happened in. */
const problems: string[] = [];
/** The network errors a step expects the browser to log (a wrong password is a 401). */
let expectedNetworkErrors = 0;

function writeSite(name: string, files: Record<string, string>): string {
  const root = join(dir, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

async function shot(name: string): Promise<void> {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

interface Violation {
  id: string;
  impact: string;
  help: string;
  nodes: string[];
}

/** axe-core in the page (through the DevTools protocol, so the page's CSP stays as it is): no serious or critical violations. */
async function accessible(screen: string): Promise<void> {
  if (!(await page.evaluate<boolean>("typeof window.axe === 'object'"))) await page.evaluate(AXE);
  const violations = await page.evaluate<Violation[]>(
    `axe.run(document, { resultTypes: ["violations"] }).then((r) => r.violations.map((v) => ({
      id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ")) })))`,
  );
  const serious = violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  expect({ screen, serious }).toEqual({ screen, serious: [] });
}

/** Press Tab until the focused element's name matches (keyboard only); its focus must be visible. */
async function tabTo(name: RegExp, max = 80): Promise<void> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate<{ name: string; outline: string; width: number }>(`(() => {
      const el = document.activeElement;
      const label = el.labels?.[0]?.textContent ?? el.getAttribute("aria-label") ?? el.textContent ?? "";
      const style = getComputedStyle(el);
      return { name: label.trim(), outline: style.outlineStyle, width: parseFloat(style.outlineWidth) };
    })()`);
    if (name.test(focused.name)) {
      expect({ name: focused.name, outline: focused.outline }).not.toEqual({ name: focused.name, outline: "none" });
      expect(focused.width).toBeGreaterThanOrEqual(2);
      return;
    }
  }
  throw new Error(`Tab never reached ${name}`);
}

/** A received message with text, hostile HTML and an attachment, over SMTP (swaks). */
async function receiveMail(subject: string): Promise<void> {
  const raw = [
    "From: Alice <alice@sender.example>",
    `To: news@${MAIL_DOMAIN}`,
    `Subject: ${subject}`,
    "MIME-Version: 1.0",
    'Content-Type: multipart/mixed; boundary="outer"',
    "",
    "--outer",
    'Content-Type: multipart/alternative; boundary="alt"',
    "",
    "--alt",
    "Content-Type: text/plain; charset=utf-8",
    "",
    "Hello in plain text.",
    "--alt",
    "Content-Type: text/html; charset=utf-8",
    "",
    `<p>Hello in <b>HTML</b>.</p><script>parent.document.title = "pwned"</script>` +
      `<img src="http://127.0.0.1:${pixel.port}/pixel.gif" alt="pixel"><a href="http://127.0.0.1:${pixel.port}/link">a link</a>`,
    "--alt--",
    "--outer",
    'Content-Type: text/plain; name="notes.txt"',
    'Content-Disposition: attachment; filename="notes.txt"',
    "",
    "attached notes",
    "--outer--",
    "",
  ].join("\n");
  const file = join(dir, "message.eml");
  writeFileSync(file, raw);
  const p = Bun.spawn(
    [
      "swaks",
      "--server",
      `127.0.0.1:${smtpPort}`,
      "--helo",
      "test.example",
      "--timeout",
      "10",
      "--to",
      `news@${MAIL_DOMAIN}`,
      "--from",
      "alice@sender.example",
      "--data",
      `@${file}`,
    ],
    { stdout: "pipe", stderr: "pipe" },
  );
  const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  expect({ code, out: code === 0 ? "" : out }).toEqual({ code: 0, out: "" });
}

/** What the site answers in the browser right now. */
async function siteText(path = "/"): Promise<string> {
  const other = await context.newPage();
  try {
    const res = await other.goto(`http://blog.localhost:${f.port}${path}`);
    expect(res?.status()).toBe(200);
    return (await other.textContent("body")) ?? "";
  } finally {
    await other.close();
  }
}

beforeAll(async () => {
  const build = Bun.spawnSync([process.execPath, "build.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
  resend = new ResendStandIn().start();
  pixel = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => (pixelHits++, new Response("gif")) });
  dir = tempDir("fazt-ui-");
  const db = join(dir, "fazt.db");
  const created = await runFazt(["user", "create", USER, "--password-stdin", "--db", db], { binary: true, stdin: `${PASSWORD}\n` });
  expect(created.code).toBe(0);
  f = await startFazt({
    binary: true,
    dir,
    db,
    args: ["--smtp", "127.0.0.1:0"],
    env: { ...resend.env(), FAZT_MAIL_RETRY_BASE_MS: "50", FAZT_MAIL_POLL_MS: "50" },
  });
  smtpPort = Number(/"smtp_port":(\d+)/.exec(f.stderr())![1]);
  admin = `http://localhost:${f.port}`;
  browser = await launchChromium();
  // Headless Chromium names itself in its User-Agent and would count as a bot: look like a person's browser.
  const userAgent = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0.0.0 Safari/537.36";
  context = await browser.newContext({ viewport: { width: 1200, height: 900 }, userAgent });
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  page.on("console", (msg) => {
    if (msg.type() !== "error") return;
    if (expectedNetworkErrors > 0 && msg.text().includes("Failed to load resource")) return void expectedNetworkErrors--;
    problems.push(`console: ${msg.text()}`);
  });
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await f?.stop();
  await resend?.stop();
  await pixel?.stop(true);
  if (dir) cleanup(dir);
});

test("sign-in screen: first load time, a wrong password is refused with a message", async () => {
  await page.goto(`${admin}/`);
  await page.getByLabel("Username").waitFor();
  // Navigation start to a usable sign-in form, as the page marks it (reported, not asserted: the machine is shared).
  const usableMs = await page.evaluate<number>('performance.getEntriesByName("fazt:first-screen")[0].startTime');
  const domReady = await page.evaluate<number>('performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd');
  console.log(
    `first screen: DOMContentLoaded ${domReady.toFixed(0)} ms, sign-in form usable ${usableMs.toFixed(0)} ms after navigation start`,
  );
  await shot("signin");
  await accessible("sign-in");
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Password").fill("not the password");
  expectedNetworkErrors = 1;
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "wrong user name or password" }).waitFor();
  await shot("signin-error");
  await accessible("sign-in with an error");
}, 30_000);

test("sign in, create a site, upload a folder and see it live, roll back", async () => {
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Sites", level: 1 }).waitFor();
  expect(problems).toEqual([]);
  expect(expectedNetworkErrors).toBe(0);
  await accessible("sites");

  await page.getByLabel("Site name").fill("blog");
  await page.getByRole("button", { name: "Create site" }).click();
  await page.getByRole("link", { name: "blog", exact: true }).first().click();
  await page.getByRole("heading", { name: "blog", level: 1 }).waitFor();

  const v1 = writeSite("v1", { "index.html": "<h1>version one</h1>", "about/index.html": "about v1", ".git/config": "secret" });
  await page.setInputFiles("#upload-folder", v1);
  await page.getByText(/^Deploy [a-z2-7]+: 2 files/).waitFor();
  expect(await siteText()).toContain("version one");
  expect(await siteText("/about/")).toContain("about v1");
  await shot("site-deployed");
  await accessible("site");

  const v2 = writeSite("v2", { "index.html": "<h1>version two</h1>", "about/index.html": "about v1" });
  await page.setInputFiles("#upload-folder", v2);
  await page.locator("tr[data-deploy]").nth(1).waitFor();
  await expect(page.locator("progress").getAttribute("value")).resolves.toBe("1");
  expect(await siteText()).toContain("version two");

  // Roll back: activate the older deploy (the second row, newest first).
  const older = page.locator("tr[data-deploy]").nth(1);
  await older.getByRole("button", { name: /Activate/ }).click();
  await page.locator("tr[data-deploy]").nth(1).getByText("live").waitFor();
  expect(await siteText()).toContain("version one");
  await expect(older.textContent()).resolves.toContain(`user ${USER}`); // who made it
  await shot("site-rolled-back");
  expect(problems).toEqual([]);
}, 60_000);

test("analytics show the traffic", async () => {
  for (let i = 0; i < 3; i++) await siteText();
  const crawler = await fetch(`${f.url}/`, {
    headers: { host: `blog.localhost:${f.port}`, "user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)" },
  });
  expect(crawler.status).toBe(200);
  await page.getByRole("link", { name: "Analytics" }).click();
  await page.getByRole("heading", { name: "blog: analytics", level: 1 }).waitFor();
  // The recorder writes once a second: ask again until the views are in.
  const stat = (label: string) => page.locator(".stat", { hasText: label }).locator("b").textContent().then(Number);
  const show = page.getByRole("button", { name: "Show", exact: true });
  // The recorder writes once a second: ask again until the hits are in.
  for (let i = 0; i < 50 && ((await stat("Views")) < 5 || (await stat("Bot requests")) < 1); i++) {
    await show.click();
    await page.locator("button[aria-busy]").waitFor({ state: "detached" });
  }
  expect(await stat("Views")).toBeGreaterThanOrEqual(5);
  expect(await stat("Bot requests")).toBe(1);
  await page.locator(".chart canvas").waitFor();
  await expect(page.getByRole("cell", { name: "/about/" }).count()).resolves.toBeGreaterThan(0);
  await shot("analytics");
  await accessible("analytics");
  expect(problems).toEqual([]);
}, 60_000);

test("site settings and domains from the UI take effect over HTTP; a bad value's error shows at its field", async () => {
  await page.getByRole("link", { name: "Sites", exact: true }).click();
  await page.getByRole("link", { name: "blog", exact: true }).first().click();
  await page.getByRole("heading", { name: "blog", level: 1 }).waitFor();
  const site = (path: string) => hostFetch(f, `blog.localhost:${f.port}`, path);
  // A custom domain (admin only): mail is sent from it later.
  await page.getByLabel("Domain", { exact: true }).fill(MAIL_DOMAIN);
  await page.getByRole("button", { name: "Add domain" }).click();
  await page.getByRole("cell", { name: MAIL_DOMAIN, exact: true }).waitFor();
  expect((await hostFetch(f, MAIL_DOMAIN, "/")).status).toBe(200);

  // One file into the live deploy: a dotfile is refused while the site does not publish dotfiles.
  const dotfile = join(dir, "profile.txt");
  writeFileSync(dotfile, "a dotfile's content");
  await page.getByLabel("Path in the site").fill("/.profile.txt");
  await page.setInputFiles(`#${await page.getByLabel("File", { exact: true }).getAttribute("id")}`, dotfile);
  expectedNetworkErrors = 1;
  await page.getByRole("button", { name: "Upload file" }).click();
  await page.getByText(/is a dotfile or inside a dot-folder/).waitFor();

  expect((await site("/some/client/route")).status).toBe(404);
  await page.getByLabel("Single-page app: answer unknown paths with the app's page").check();
  await page.getByLabel("Publish dotfiles").check();
  await page.getByLabel("Trailing slash").selectOption("never");
  await page.getByLabel("404 page (empty: the nearest 404.html)").fill("/about/index.html");
  await page.getByRole("button", { name: "Add header" }).click();
  await page.getByLabel("Header 1 name").fill("X-Fazt-Test");
  await page.getByLabel("Header 1 value").fill("from the ui");
  await page.getByLabel("HSTS (Strict-Transport-Security, HTTPS only)").selectOption("86400");
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByText("Saved; applied without a restart.").waitFor();
  const spa = await site("/some/client/route");
  expect(spa.status).toBe(200);
  expect(await spa.text()).toContain("version one");
  // trailing_slash, not_found and headers are stored and applied (test/settings-serve.test.ts checks how).
  const settingsNow = async () => {
    const res = await fetch(`${f.url}/api/sites/blog/settings`, { headers: { authorization: `Bearer ${f.token}` } });
    return ((await res.json()) as { settings: unknown }).settings;
  };
  const settings = await settingsNow();
  expect(settings).toEqual({
    spa: "/index.html",
    hsts: { max_age: 86400, include_subdomains: false },
    trailing_slash: "never",
    not_found: "/about/index.html",
    headers: { "X-Fazt-Test": "from the ui" },
    dotfiles: true,
    forms: {},
    password: false,
    private_previews: false,
  });

  // Now the dotfile is published.
  await page.getByLabel("Path in the site").fill("/.profile.txt");
  await page.setInputFiles(`#${await page.getByLabel("File", { exact: true }).getAttribute("id")}`, dotfile);
  await page.getByRole("button", { name: "Upload file" }).click();
  await page.getByText(/^Deploy [a-z2-7]+: 3 files/).waitFor();
  const published = await site("/.profile.txt");
  expect(published.status).toBe(200);
  expect(await published.text()).toBe("a dotfile's content");
  expect(await siteText()).toContain("version one");

  // Values the server refuses: each message sits under its field, and nothing changed.
  await page.getByLabel("Header 1 name").fill("Bad Header");
  expectedNetworkErrors = 1;
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.locator("#headers-error", { hasText: /^headers\./ }).waitFor();
  await page.getByLabel("404 page (empty: the nearest 404.html)").fill("no-slash");
  expectedNetworkErrors = 1;
  await page.getByRole("button", { name: "Save settings" }).click();
  const notFoundField = page.getByLabel("404 page (empty: the nearest 404.html)");
  const notFoundError = page.locator(`#${await notFoundField.getAttribute("aria-describedby")}`);
  await notFoundError.filter({ hasText: "not_found: expected a path starting with /" }).waitFor();
  await expect(page.locator("#headers-error").textContent()).resolves.toBe("");
  expect(await settingsNow()).toEqual(settings);
  await shot("site-settings");
  await accessible("site with errors in its settings");

  // A site password and private previews: the site answers its sign-in page, then is public again once removed.
  await page.getByLabel("404 page (empty: the nearest 404.html)").fill("/about/index.html");
  await page.getByLabel("Header 1 name").fill("X-Fazt-Test");
  await page.getByLabel(/^Site password/).fill("a password from the ui");
  await page.getByLabel("Private previews: previews need the site password or an API token").check();
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByText("A site password is set.").waitFor();
  expect(await settingsNow()).toEqual({ ...(settings as object), password: true, private_previews: true });
  const locked = await site("/");
  expect([locked.status, await locked.text()]).toEqual([401, expect.stringContaining('action="/.fazt/login"')]);
  await page.getByLabel("Remove the site password").check();
  await page.getByLabel("Private previews: previews need the site password or an API token").uncheck();
  await page.getByRole("button", { name: "Save settings" }).click();
  await page.getByText("No site password: the site is public.").waitFor();
  expect(await settingsNow()).toEqual(settings);
  expect((await site("/")).status).toBe(200);
  expect(expectedNetworkErrors).toBe(0);
  expect(problems).toEqual([]);
}, 60_000);

test("create a token, copy it once, revoke it: the revoked token gets 401", async () => {
  await page.getByRole("link", { name: "Tokens" }).click();
  await page.getByRole("heading", { name: "Tokens", level: 1 }).waitFor();
  await page.getByLabel("Scope").selectOption({ label: "Site blog (deploys only)" });
  await page.getByLabel("Label").fill("browser test");
  await page.getByRole("button", { name: "Create token" }).click();
  const token = await page.locator("#new-token").inputValue();
  expect(token).toMatch(/^fzt_/);
  const ok = await fetch(`${f.url}/api/sites/blog/deploys`, { headers: { authorization: `Bearer ${token}` } });
  expect(ok.status).toBe(200);
  await shot("tokens");
  await accessible("tokens");
  const row = page.locator("tr", { hasText: "browser test" });
  await row.getByRole("button", { name: /Revoke/ }).click();
  await row.waitFor({ state: "detached" });
  const refused = await fetch(`${f.url}/api/sites/blog/deploys`, { headers: { authorization: `Bearer ${token}` } });
  expect(refused.status).toBe(401);
  expect(problems).toEqual([]);
}, 30_000);

test("send a mail: an API error at its field, a provider rejection shown with its reason, retry, sent", async () => {
  await page.getByRole("link", { name: "Mail" }).click();
  await page.getByRole("heading", { name: "Outbox" }).waitFor();
  await page.getByRole("link", { name: "Send a message" }).click();
  await page.getByLabel("From").fill("someone@nobody.example");
  await page.getByLabel("To (comma-separated)").fill("reader@elsewhere.example, second@elsewhere.example");
  await page.getByLabel("Subject").fill("Hello from the dashboard");
  await page.getByLabel("Text").fill("Sent from a browser.");
  expectedNetworkErrors = 1;
  await page.getByRole("button", { name: "Send" }).click();
  const fromError = page.locator(`#${await page.getByLabel("From").getAttribute("aria-describedby")}`);
  await fromError.filter({ hasText: "no site owns nobody.example" }).waitFor();
  await accessible("send, with an error");

  resend.script = ["reject"];
  await page.getByLabel("From").fill(`Blog <news@${MAIL_DOMAIN}>`);
  await page.getByRole("button", { name: "Send" }).click();
  await page.getByText(/^Queued as out_/).waitFor();
  await shot("mail-send");
  await page.getByRole("link", { name: "See the outbox" }).click();
  const row = page.locator("tr", { hasText: "Hello from the dashboard" });
  // The outbox follows messages on their way without a reload.
  await row.locator(".badge.failed").waitFor();
  await expect(row.textContent()).resolves.toContain("stand-in rejects this message");
  await shot("mail-outbox-failed");
  await accessible("outbox");
  await row.getByRole("button", { name: "Retry Hello from the dashboard" }).click();
  await row.locator(".badge.sent").waitFor();
  const delivered = resend.deliveries.filter((d) => d.subject === "Hello from the dashboard");
  expect(delivered).toHaveLength(1);
  const recipients = ["reader@elsewhere.example", "second@elsewhere.example"];
  expect(delivered[0]!.body).toMatchObject({ from: `Blog <news@${MAIL_DOMAIN}>`, to: recipients });

  // Paging: more messages than a page holds (queued through the API, delivered by the stand-in).
  for (let i = 1; i <= 10; i++) {
    const body = { from: `news@${MAIL_DOMAIN}`, to: "bulk@elsewhere.example", subject: `Bulk ${i}`, text: "x" };
    const headers = { authorization: `Bearer ${f.token}` };
    const res = await fetch(`${f.url}/api/mail`, { method: "POST", headers, body: JSON.stringify(body) });
    expect(res.status).toBe(202);
  }
  await resend.deliveredCount(11);
  await page.getByLabel("Per page").selectOption("10");
  await page.getByRole("button", { name: "Show", exact: true }).click();
  await page.getByRole("link", { name: "Bulk 10" }).waitFor();
  await expect(page.locator("tr[data-message]").count()).resolves.toBe(10);
  await page.getByRole("button", { name: "Show older" }).click();
  await row.waitFor();
  await expect(page.locator("tr[data-message]").count()).resolves.toBe(11);
  await expect(page.getByRole("button", { name: "Show older" }).isHidden()).resolves.toBe(true);

  await page.getByLabel("Per page").selectOption("25");
  await page.getByLabel("Status").selectOption("failed");
  await page.getByRole("button", { name: "Show", exact: true }).click();
  await page.getByText("No messages.").waitFor();
  await page.getByLabel("Status").selectOption("sent");
  await page.getByRole("button", { name: "Show", exact: true }).click();
  await row.getByRole("link").click();
  await page.getByRole("heading", { name: "Attempts" }).waitFor();
  visited.add(new URL(page.url()).hash);
  const outcomes = await page.locator("tbody tr td:nth-child(4)").allTextContents();
  expect(outcomes).toEqual(["failed", "sent"]);
  await shot("mail-outbox-message");
  await accessible("outbox message");
  expect(expectedNetworkErrors).toBe(0);
  expect(problems).toEqual([]);
}, 60_000);

test("received mail: in the inbox, its HTML in a sandboxed frame that runs and loads nothing, the attachment downloads", async () => {
  await receiveMail("Greetings over SMTP");
  await receiveMail("Spam to delete");
  await page.getByRole("link", { name: "Inbox" }).click();
  const link = page.getByRole("link", { name: "Greetings over SMTP" });
  await page.getByLabel("Site").selectOption("blog");
  await page.getByLabel("To contains").fill("news@");
  await page.getByRole("button", { name: "Show", exact: true }).click();
  await link.waitFor();
  await shot("mail-inbox");
  await accessible("inbox");
  await link.click();
  await page.getByRole("heading", { name: "Greetings over SMTP" }).waitFor();
  visited.add(new URL(page.url()).hash);

  const frame = page.locator("iframe.mail-html");
  expect(await frame.getAttribute("sandbox")).toBe("");
  const srcdoc = (await frame.getAttribute("srcdoc"))!;
  expect(srcdoc).toContain(`content="default-src 'none'; img-src data:; style-src 'unsafe-inline'"`);
  expect(srcdoc).not.toContain("<script");
  const inside = page.frameLocator("iframe.mail-html");
  await expect(inside.locator("b").textContent()).resolves.toBe("HTML");
  await expect(inside.locator("script").count()).resolves.toBe(0);
  expect(await page.title()).toBe("Fazt");
  await expect(page.locator(".mail-text").textContent()).resolves.toContain("Hello in plain text.");

  const attachment = page.getByRole("link", { name: "notes.txt" });
  const [download] = await Promise.all([page.waitForEvent("download"), attachment.click()]);
  expect(download.suggestedFilename()).toBe("notes.txt");
  expect(readFileSync((await download.path())!, "utf8")).toBe("attached notes");
  expect(pixelHits).toBe(0);
  await shot("mail-inbox-message");
  await accessible("inbox message");

  // Delete asks once more.
  await page.getByRole("link", { name: "Inbox" }).click();
  await page.getByRole("link", { name: "Spam to delete" }).click();
  await page.getByRole("button", { name: "Delete message" }).click();
  await page.getByRole("button", { name: "Press again to delete" }).click();
  await page.getByRole("heading", { name: "Inbox" }).waitFor();
  await link.waitFor();
  await expect(page.getByRole("link", { name: "Spam to delete" }).count()).resolves.toBe(0);
  expect(problems).toEqual([]);
}, 60_000);

test("keyboard only: skip link, navigation and sending a mail, with visible focus", async () => {
  await page.goto(`${admin}/#/sites`);
  await page.getByRole("heading", { name: "Sites", level: 1 }).waitFor();
  await page.evaluate("document.activeElement?.blur()");
  await tabTo(/^Skip to content$/);
  await tabTo(/^Mail$/);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Outbox" }).waitFor();
  expect(await page.evaluate<string>("document.activeElement.textContent")).toBe("Mail"); // the screen's heading has focus
  await tabTo(/^Send a message$/);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Send a message" }).waitFor();
  await tabTo(/^From$/);
  await page.keyboard.type(`news@${MAIL_DOMAIN}`);
  await page.keyboard.press("Tab");
  await page.keyboard.type("keyboard@elsewhere.example");
  await tabTo(/^Subject$/);
  await page.keyboard.type("Typed, not clicked");
  await tabTo(/^Text$/);
  await page.keyboard.type("Sent with the keyboard alone.");
  await tabTo(/^Send$/);
  await page.keyboard.press("Enter");
  await page.getByText(/^Queued as out_/).waitFor();
  await tabTo(/^out_/);
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Typed, not clicked" }).waitFor();
  expect(problems).toEqual([]);
}, 60_000);

test("system screen with recent errors, garbage collection; every screen fits a phone", async () => {
  await page.getByRole("link", { name: "System" }).click();
  await page.getByText("Database size").waitFor();
  const recent = page.locator("section", { has: page.getByRole("heading", { name: "Recent errors and warnings" }) });
  await expect(recent.textContent()).resolves.toContain("mail: a message failed");
  await page.getByRole("button", { name: "Collect garbage now" }).click();
  await page.getByText(/^Removed \d+ unused contents/).waitFor();
  const backup = page.getByRole("link", { name: "Download a backup" });
  const [download] = await Promise.all([page.waitForEvent("download"), backup.click()]);
  expect(download.suggestedFilename()).toMatch(/^fazt-\d{8}T\d{6}Z\.db$/);
  expect(
    readFileSync((await download.path())!)
      .subarray(0, 15)
      .toString(),
  ).toBe("SQLite format 3");
  await shot("system");
  await accessible("system");
  await page.setViewportSize({ width: 375, height: 800 });
  const screens = ["#/sites", "#/sites/blog", "#/sites/blog/analytics", "#/mail/outbox", "#/mail/send", "#/mail/inbox", ...visited];
  screens.push("#/tokens", "#/system");
  for (const hash of screens) {
    await page.goto(`${admin}/${hash}`);
    await page.locator("h1").waitFor();
    // Rendered once nothing says "Loading…" (the outbox keeps polling, so the network never goes idle).
    // page.evaluate of a string runs outside the page's CSP (waitForFunction would eval inside it).
    const loading = () => page.evaluate<boolean>('document.body.innerText.includes("Loading…")');
    await waitFor(async () => !(await loading()), { what: `${hash} rendered (no "Loading…" left)`, timeoutMs: 10_000 });
    // Nothing wider than the screen except inside scrollable tables.
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
    expect({ hash, overflow }).toEqual({ hash, overflow: 0 });
    await shot(`phone-${hash.replaceAll("/", "_").replace("#", "")}`);
  }
  await page.setViewportSize({ width: 1200, height: 900 });
  expect(problems).toEqual([]);
}, 60_000);

test("the UI's assets stay under 300 KB uncompressed", async () => {
  const total = await uiBytes();
  console.log(`UI assets: ${total} bytes uncompressed`);
  expect(total).toBeLessThan(300 * 1024);
});

test("sign out: the old session cookie gets 401", async () => {
  const cookie = (await context.cookies()).find((c) => c.name === "fazt_session");
  expect(cookie?.httpOnly).toBe(true);
  expect(cookie?.sameSite).toBe("Strict");
  const withCookie = () => fetch(`${f.url}/api/sites`, { headers: { cookie: `fazt_session=${cookie!.value}` } });
  expect((await withCookie()).status).toBe(200);
  await page.getByRole("button", { name: "Sign out" }).click();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  expect((await withCookie()).status).toBe(401);
  expect(problems).toEqual([]);
}, 30_000);
