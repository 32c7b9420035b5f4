// A real HTML form in headless Chromium against the compiled binary: the
// browser submits (text, a checkbox group, a file), lands back on the page
// with ?submitted=NAME, and the submission is in the database; then the CLI
// lists and exports it, and the dashboard's Forms tab shows it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import type { Browser, Page } from "playwright-core";
import { parse as parseCsv } from "csv-parse/sync";
import { ROOT, api, cleanup, runFazt, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";
import { launchChromium } from "./helpers/browser.ts";
import { makeTar } from "./helpers/archives.ts";
import { readDb } from "./helpers/hostile.ts";

const USER = "admin";
const PASSWORD = "correct horse battery";

const CONTACT = `<!doctype html><html lang="en"><meta charset="utf-8"><title>Contact</title>
<form method="post" action="/.fazt/forms/contact" enctype="multipart/form-data" data-fazt-form="contact">
  <label>Name <input name="name" id="name"></label>
  <label>Message <textarea name="message" id="message"></textarea></label>
  <label><input type="checkbox" name="topic" value="sales" checked> Sales</label>
  <label><input type="checkbox" name="topic" value="support" checked> Support</label>
  <label>CV <input type="file" name="cv" id="cv"></label>
  <input name="_gotcha" hidden tabindex="-1" autocomplete="off">
  <button type="submit">Send</button>
</form>
<form method="post" action="/.fazt/forms/news" data-fazt-form="news">
  <input name="email" id="email" type="email"><input type="hidden" name="_next" value="/thanks.html">
  <button type="submit" id="subscribe">Subscribe</button>
</form>`;

let dir: string;
let f: FaztProcess;
let browser: Browser;
let page: Page;
const problems: string[] = [];

beforeAll(async () => {
  const build = Bun.spawnSync([process.execPath, "build.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (build.exitCode !== 0) throw new Error(`build failed: ${build.stderr.toString()}`);
  dir = tempDir("fazt-forms-ui-");
  const db = join(dir, "fazt.db");
  expect((await runFazt(["user", "create", USER, "--password-stdin", "--db", db], { binary: true, stdin: `${PASSWORD}\n` })).code).toBe(0);
  f = await startFazt({ binary: true, dir, db });
  expect((await api(f, "/api/sites", { method: "POST", json: { name: "blog" } })).status).toBe(201);
  const tar = await makeTar([
    { name: "contact.html", data: CONTACT },
    { name: "thanks.html", data: "<!doctype html><title>Thanks</title><h1>Thanks!</h1>" },
  ]);
  expect((await api(f, "/api/sites/blog/deploys", { method: "POST", body: tar })).status).toBe(201);
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  context.setDefaultTimeout(10_000);
  page = await context.newPage();
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await f?.stop();
  if (dir) cleanup(dir);
});

test("Chromium submits a real form: stored with its file, then back on the page with ?submitted", async () => {
  const site = `http://blog.localhost:${f.port}`;
  await page.goto(`${site}/contact.html`);
  await page.fill("#name", 'Ada, "the first"');
  await page.fill("#message", "Hello,\nsee my CV.");
  const cv = join(dir, "cv.txt");
  writeFileSync(cv, "curriculum vitae\n");
  await page.setInputFiles("#cv", cv);
  await Promise.all([page.waitForURL(`${site}/contact.html?submitted=contact`), page.click("text=Send")]);

  const row = readDb(f, (d) => d.query("SELECT id, fields, user_agent FROM form_submissions WHERE form = 'contact'").get()) as {
    id: string;
    fields: string;
    user_agent: string;
  };
  expect(JSON.parse(row.fields)).toEqual([
    ["name", 'Ada, "the first"'],
    ["message", "Hello,\r\nsee my CV."], // browsers send textarea line breaks as CRLF
    ["topic", "sales"],
    ["topic", "support"],
  ]);
  expect(row.user_agent).toContain("Chrome");
  const file = readDb(f, (d) => d.query("SELECT filename, size FROM form_files WHERE submission_id = ?").get(row.id));
  expect(file).toEqual({ filename: "cv.txt", size: 17 });

  // A urlencoded form with _next lands on that page.
  await page.fill("#email", "reader@example.org");
  await Promise.all([page.waitForURL(`${site}/thanks.html`), page.click("#subscribe")]);
  expect(await page.textContent("h1")).toBe("Thanks!");
  expect(readDb(f, (d) => d.query("SELECT fields FROM form_submissions WHERE form = 'news'").get())).toEqual({
    fields: JSON.stringify([["email", "reader@example.org"]]),
  });
  expect(problems).toEqual([]);
});

test("fazt forms lists the forms and exports CSV", async () => {
  const client = ["--server", f.url, "--token", f.token!];
  const list = await runFazt(["forms", "blog", ...client], { binary: true });
  expect(list.code).toBe(0);
  expect(list.stdout).toMatch(/^contact\s+html\s+1\s/m);
  expect(list.stdout).toMatch(/^news\s+html\s+1\s/m);
  const csv = await runFazt(["forms", "blog", "contact", "--csv", ...client], { binary: true });
  expect(csv.code).toBe(0);
  const rows = parseCsv(csv.stdout, { columns: true }) as Record<string, string>[];
  expect(rows.map((r) => [r.name, r.message, r.topic, r.files])).toEqual([
    ['Ada, "the first"', "Hello,\r\nsee my CV.", "sales\nsupport", "cv.txt (17 bytes)"],
  ]);
  const bad = await runFazt(["forms", "blog", "--csv", ...client], { binary: true });
  expect(bad.code).toBe(2);
});

test("the dashboard's Forms tab shows the submission and deletes it from the keyboard", async () => {
  const admin = `http://localhost:${f.port}`;
  await page.goto(`${admin}/`);
  await page.getByLabel("Username").fill(USER);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("link", { name: "Sites", exact: true }).waitFor();
  await page.goto(`${admin}/#/sites/blog/forms`);
  await page.getByRole("heading", { name: "blog: forms" }).waitFor();
  const contact = page.getByRole("link", { name: "contact", exact: true });
  await contact.focus();
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "blog: form contact" }).waitFor();
  // The heading comes before the submissions are fetched: wait for the row itself.
  await page.locator("main", { hasText: "Hello," }).waitFor();
  expect(await page.getByRole("link", { name: "cv.txt" }).getAttribute("href")).toMatch(/\/files\/0$/);
  page.once("dialog", (d) => void d.accept());
  const del = page.getByRole("button", { name: /^Delete submission sub_/ });
  await del.focus();
  await page.keyboard.press("Enter");
  await page.getByText("No submissions yet.").waitFor();
  expect(readDb(f, (d) => d.query("SELECT count(*) AS n FROM form_submissions WHERE form = 'contact'").get())).toEqual({ n: 0 });
  expect(problems).toEqual([]);
});
