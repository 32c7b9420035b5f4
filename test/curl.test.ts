// The README's curl round trip, run as written (real curl, tar and zip, the
// compiled binary): create a site, deploy a tar.gz, see it, deploy a zip, roll back.
import { expect, test, afterAll, beforeAll } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { startFazt, tempDir, cleanup, ROOT } from "./helpers/fazt.ts";

const dir = tempDir("fazt-curl-");
afterAll(() => cleanup(dir));

// The compiled binary: tar-stream, yauzl and zlib must work inside it too.
beforeAll(() => {
  const r = Bun.spawnSync([process.execPath, "build.ts"], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`build failed: ${r.stderr.toString()}`);
}, 120_000);

/** The shell block of the README's "Deploying" section. */
function readmeBlock(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Deploying"));
  const block = /```sh\n([\s\S]*?)```/.exec(section)![1]!;
  return block.trim().split("\n");
}

test("README curl round trip: tar.gz, zip, rollback", async () => {
  const f = await startFazt({ dir, binary: true });
  try {
    let firstId = "";
    const lines = readmeBlock();
    expect(lines.length).toBeGreaterThan(8);
    for (const line of lines) {
      const [cmd, comment] = line.split(/\s+#\s+/);
      const shell = cmd!.replaceAll("localhost:8080", `localhost:${f.port}`).replaceAll("FIRST_ID", firstId);
      const r = Bun.spawnSync(["bash", "-c", shell], {
        cwd: dir,
        env: { ...process.env, TOKEN: f.token! },
        stdout: "pipe",
        stderr: "pipe",
      });
      const out = r.stdout.toString().trim();
      expect({ line, code: r.exitCode, stderr: r.stderr.toString() }).toEqual({ line, code: 0, stderr: "" });
      if (comment?.startsWith('{"id":"FIRST_ID"')) firstId = (JSON.parse(out) as { id: string }).id;
      else if (comment?.startsWith("<")) expect(out).toBe(comment);
    }
    expect(firstId).toMatch(/^[a-z2-7]{10}$/);
  } finally {
    await f.stop();
  }
});
