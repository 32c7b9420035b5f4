// The admin UI in real headless Chromium against the compiled binary: one
// browser, one server, the steps of a user's session in order. Screenshots of
// every screen go to $FAZT_UI_SCREENSHOTS when it is set (never into the repo).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { ROOT, cleanup, runFazt, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";

const CHROMIUM = "/usr/bin/chromium";
const FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"];
const USER = "admin";
const PASSWORD = "correct horse battery";
const SHOTS = process.env.FAZT_UI_SCREENSHOTS;

let dir: string;
let f: FaztProcess;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let admin: string;
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
  dir = tempDir("fazt-ui-");
  const db = join(dir, "fazt.db");
  const created = await runFazt(["user", "create", USER, "--password-stdin", "--db", db], { binary: true, stdin: `${PASSWORD}\n` });
  expect(created.code).toBe(0);
  f = await startFazt({ binary: true, dir, db });
  admin = `http://localhost:${f.port}`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
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
  if (dir) cleanup(dir);
});

test("sign-in screen: first load time, a wrong password is refused with a message", async () => {
  await page.goto(`${admin}/`);
  await page.getByLabel("Username").waitFor();
  // Navigation start to a usable sign-in form, as the page marks it (reported, not asserted: the machine is shared).
  const usableMs = await page.evaluate<number>('performance.getEntriesByName("fazt:first-screen")[0].startTime');
  const domReady = await page.evaluate<number>('performance.getEntriesByType("navigation")[0].domContentLoadedEventEnd');
  console.log(`first screen: DOMContentLoaded ${domReady.toFixed(0)} ms, sign-in form usable ${usableMs.toFixed(0)} ms after navigation start`);
  await shot("signin");
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Password").fill("not the password");
  expectedNetworkErrors = 1;
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert").textContent()).resolves.toContain("wrong user name or password");
  await shot("signin-error");
}, 30_000);

test("sign in, create a site, upload a folder and see it live, roll back", async () => {
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Sites", level: 1 }).waitFor();
  expect(problems).toEqual([]);
  expect(expectedNetworkErrors).toBe(0);

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
  const crawler = await fetch(`${f.url}/`, { headers: { host: `blog.localhost:${f.port}`, "user-agent": "Googlebot/2.1 (+http://www.google.com/bot.html)" } });
  expect(crawler.status).toBe(200);
  await page.getByRole("link", { name: "Analytics" }).click();
  await page.getByRole("heading", { name: "blog: analytics", level: 1 }).waitFor();
  // The recorder writes once a second: ask again until the views are in.
  const stat = (label: string) => page.locator(".stat", { hasText: label }).locator("b").textContent().then(Number);
  const show = page.getByRole("button", { name: "Show" });
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
  const row = page.locator("tr", { hasText: "browser test" });
  await row.getByRole("button", { name: /Revoke/ }).click();
  await row.waitFor({ state: "detached" });
  const refused = await fetch(`${f.url}/api/sites/blog/deploys`, { headers: { authorization: `Bearer ${token}` } });
  expect(refused.status).toBe(401);
  expect(problems).toEqual([]);
}, 30_000);

test("system screen; every screen fits a phone", async () => {
  await page.getByRole("link", { name: "System" }).click();
  await page.getByText("Database size").waitFor();
  await shot("system");
  await page.setViewportSize({ width: 375, height: 800 });
  for (const hash of ["#/sites", "#/sites/blog", "#/sites/blog/analytics", "#/tokens", "#/system"]) {
    await page.goto(`${admin}/${hash}`);
    await page.locator("h1").waitFor();
    await page.waitForLoadState("networkidle");
    // Nothing wider than the screen except inside scrollable tables.
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
    expect({ hash, overflow }).toEqual({ hash, overflow: 0 });
    await shot(`phone-${hash.replaceAll("/", "_").replace("#", "")}`);
  }
  await page.setViewportSize({ width: 1200, height: 900 });
  expect(problems).toEqual([]);
}, 60_000);

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
