// The CLI client against a real server: sites, deploy of a folder (incremental:
// an unchanged 5,000-file site uploads nothing), archives, history, rollback.
import { describe, expect, test, beforeAll, afterAll } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Database } from "bun:sqlite";
import { startFazt, runFazt, hostFetch, cleanup, tempDir, faztCommand, type FaztProcess } from "./helpers/fazt.ts";
import { makeTarGz } from "./helpers/archives.ts";

let f: FaztProcess;
let env: Record<string, string>;
const work = tempDir("fazt-client-");

beforeAll(async () => {
  f = await startFazt();
  env = { FAZT_SERVER: f.url, FAZT_TOKEN: f.token! };
});

afterAll(async () => {
  await f.stop();
  cleanup(f.dir);
  cleanup(work);
});

const fazt = (args: string[], extra: Record<string, string> = {}) => runFazt(args, { env: { ...env, ...extra } });

async function page(site: string, path = "/"): Promise<string> {
  const r = await hostFetch(f, `${site}.localhost`, path);
  return r.status === 200 ? await r.text() : `HTTP ${r.status}`;
}

const blobCount = () => {
  const d = new Database(f.db, { readonly: true });
  const n = (d.query("SELECT count(*) AS n FROM blobs").get() as { n: number }).n;
  d.close();
  return n;
};

describe("fazt client commands", () => {
  test("site add, sites, bad usage, unknown site, missing token", async () => {
    const add = await fazt(["site", "add", "docs", "--domain", "Bücher.example", "--domain", "docs.example.org"]);
    expect(add.code).toBe(0);
    expect(add.stdout).toContain(`http://docs.localhost:${f.port}/`);
    const list = await fazt(["sites"]);
    expect(list.stdout).toMatch(/docs\s+-\s+http:\/\/docs\.localhost:\d+\/\s+docs\.example\.org,xn--bcher-kva\.example/);
    const bad = await fazt(["site", "add", "Not_A_Label"]);
    expect({ code: bad.code, err: bad.stderr.trim() }).toEqual({ code: 1, err: expect.stringContaining("DNS label") });
    expect((await fazt(["deploy", work])).code).toBe(2); // no --site
    const noToken = await fazt(["sites"], { FAZT_TOKEN: "" });
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toContain("--token");
    const unknown = await fazt(["deploys", "nope"]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('no site named "nope"');
  });

  test("deploy DIR: dotfiles and .faztignore skipped but .well-known/ kept; an unchanged 5,000-file site uploads no content", async () => {
    const dir = join(work, "site");
    for (let i = 0; i < 5000; i++) {
      mkdirSync(join(dir, `d${i % 40}`), { recursive: true });
      writeFileSync(join(dir, `d${i % 40}`, `p${i}.html`), `<p>page ${i}</p>`);
    }
    writeFileSync(join(dir, "index.html"), "<h1>home</h1>");
    mkdirSync(join(dir, ".git"));
    writeFileSync(join(dir, ".git", "config"), "secret");
    writeFileSync(join(dir, ".env"), "SECRET=1");
    mkdirSync(join(dir, ".well-known"));
    writeFileSync(join(dir, ".well-known", "security.txt"), "Contact: mailto:sec@example.com");
    writeFileSync(join(dir, ".well-known", ".secret"), "hidden");
    mkdirSync(join(dir, "node_modules"));
    writeFileSync(join(dir, "node_modules", "x.js"), "x");
    writeFileSync(join(dir, "debug.log"), "log");
    writeFileSync(join(dir, ".faztignore"), "node_modules/\n*.log\n");

    const first = await fazt(["deploy", dir, "--site", "docs"]);
    expect(first.code).toBe(0);
    expect(first.stderr).toContain("uploading 5002 new");
    expect(first.stderr).toContain("uploaded 5002/5002 files"); // plain progress lines off a terminal
    const [summary, url] = first.stdout.trim().split("\n");
    expect(summary).toMatch(/^deployed 5002 files \(.+\) to docs: deploy [a-z2-7]{10} \(live\)$/);
    expect(url).toBe(`http://docs.localhost:${f.port}/`);
    expect(await page("docs")).toBe("<h1>home</h1>");
    expect(await page("docs", "/d7/p4007.html")).toBe("<p>page 4007</p>");
    expect(await page("docs", "/.well-known/security.txt")).toBe("Contact: mailto:sec@example.com");
    for (const hidden of ["/.env", "/.git/config", "/node_modules/x.js", "/debug.log", "/.faztignore", "/.well-known/.secret"])
      expect(await page("docs", hidden)).toBe("HTTP 404");

    const blobs = blobCount();
    const again = await fazt(["deploy", dir, "--site", "docs"]);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain("uploading 0 new (0 B), 5002 already on the server");
    expect(again.stderr).not.toContain("uploaded ");
    expect(blobCount()).toBe(blobs);

    writeFileSync(join(dir, "index.html"), "<h1>home v2</h1>");
    const changed = await fazt(["deploy", dir, "--site", "docs"]);
    expect(changed.stderr).toContain("uploading 1 new");
    expect(await page("docs")).toBe("<h1>home v2</h1>");
  }, 60_000);

  test("on a terminal, deploy draws a progress bar", async () => {
    const dir = join(work, "tty");
    mkdirSync(dir);
    for (let i = 0; i < 30; i++) writeFileSync(join(dir, `f${i}.txt`), `tty file ${i}`);
    expect((await fazt(["site", "add", "tty"])).code).toBe(0);
    const cmd = [...faztCommand(), "deploy", dir, "--site", "tty"].map((a) => `'${a}'`).join(" ");
    // script(1) runs the command on a pseudo-terminal.
    const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], {
      env: { ...process.env, ...env, FAZT_LOG_LEVEL: "warn" },
      stdout: "pipe",
      stderr: "pipe",
    });
    const out = await new Response(p.stdout).text();
    expect(await p.exited).toBe(0);
    expect(out).toMatch(/\r\[#+-*\] +\d+% \d+\/30 files/);
    expect(out).toContain("\r[##############################] 100% 30/30 files");
  });

  test("--help for every client command", async () => {
    for (const cmd of ["deploy", "sites", "site add", "site rm", "deploys", "rollback"]) {
      const r = await fazt([...cmd.split(" "), "--help"]);
      expect({ cmd, code: r.code }).toEqual({ cmd, code: 0 });
      expect(r.stdout).toContain(`Usage: fazt ${cmd}`);
      expect(r.stdout).toContain("FAZT_SERVER");
    }
  });

  test("deploy ARCHIVE --no-activate, deploys (--json), rollback skips never-live previews, by id promotes, site rm", async () => {
    const archive = join(work, "v.tar.gz");
    writeFileSync(archive, await makeTarGz([{ name: "index.html", data: "<h1>archive</h1>" }]));
    const preview = await fazt(["deploy", archive, "--site", "docs", "--no-activate"]);
    expect(preview.code).toBe(0);
    const previewId = /deploy ([a-z2-7]{10}) \(preview\)/.exec(preview.stdout)![1]!;
    expect(preview.stdout).toContain(`http://${previewId}--docs.localhost:${f.port}/`);
    expect(await page("docs")).toBe("<h1>home v2</h1>");
    // A newer live deploy after the preview: in creation order the preview sits between it and the one live before.
    const v3 = join(work, "v3.tar.gz");
    writeFileSync(v3, await makeTarGz([{ name: "index.html", data: "<h1>v3</h1>" }]));
    expect((await fazt(["deploy", v3, "--site", "docs"])).code).toBe(0);
    expect(await page("docs")).toBe("<h1>v3</h1>");

    const json = await fazt(["deploys", "docs", "--json"]);
    expect(json.code).toBe(0);
    const report = JSON.parse(json.stdout) as {
      site: string;
      deploys: { id: string; live: boolean; preview: boolean; activated_at: string | null }[];
    };
    expect(report.site).toBe("docs");
    expect(report.deploys.slice(0, 3).map((d) => [d.live, d.preview])).toEqual([
      [true, false],
      [false, true],
      [false, false],
    ]);
    expect(report.deploys[1]).toMatchObject({ id: previewId, activated_at: null });
    const history = await fazt(["deploys", "docs"]);
    const lines = history.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^ID\s+STATE\s+CREATED/);
    expect(lines.slice(1, 4).map((l) => l.split(/\s+/)[1])).toEqual(["live", "preview", "previous"]);
    expect(lines[2]).toContain(previewId);

    const back = await fazt(["rollback", "docs"]);
    expect(back.code).toBe(0);
    expect(await page("docs")).toBe("<h1>home v2</h1>"); // not the never-live preview
    const forth = await fazt(["rollback", "docs"]); // the one live before is now v3
    expect(forth.stdout).toContain(`deploy ${report.deploys[0]!.id} is live`);
    expect(await page("docs")).toBe("<h1>v3</h1>");
    const promote = await fazt(["rollback", "docs", previewId]);
    expect(promote.stdout).toContain(`deploy ${previewId} is live`);
    expect(await page("docs")).toBe("<h1>archive</h1>");
    const promoted = JSON.parse((await fazt(["deploys", "docs", "--json"])).stdout) as typeof report;
    expect(promoted.deploys.find((d) => d.id === previewId)).toMatchObject({ live: true, preview: false });

    expect((await fazt(["site", "rm", "docs"])).code).toBe(0);
    expect(await page("docs")).toBe("HTTP 404");
  }, 30_000); // a dozen CLI processes
});
