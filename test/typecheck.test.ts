// The sources are TypeScript strict; a type error fails the suite.
import { expect, test } from "bun:test";
import { ROOT } from "./helpers/fazt.ts";

test("tsc --noEmit is clean", () => {
  const r = Bun.spawnSync([process.execPath, "x", "tsc", "--noEmit", "-p", ROOT], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
  expect(r.stdout.toString() + r.stderr.toString()).toBe("");
  expect(r.exitCode).toBe(0);
}, 120_000);
