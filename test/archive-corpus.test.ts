// Every hostile archive of test/corpus/archives against the real server: the
// answer it must give, quickly, with the server and every site unharmed, and
// the event loop never held for long (fazt_event_loop_lag_max_seconds).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { api, cleanup, startFazt, type FaztProcess } from "./helpers/fazt.ts";
import { makeTarGz } from "./helpers/archives.ts";
import { errorOf, expectHealthy, loopHoldMs, type Survivor } from "./helpers/hostile.ts";
import { corpus } from "./corpus/archives/corpus.ts";

const MiB = 1024 * 1024;
let f: FaztProcess;
const survivors: Survivor[] = [];
const table: string[] = [];

beforeAll(async () => {
  f = await startFazt({ args: ["--max-file-bytes", String(MiB), "--max-deploy-bytes", String(3 * MiB), "--max-files", "20"] });
  for (const site of ["blog", "other"]) {
    expect((await api(f, "/api/sites", { method: "POST", json: { name: site } })).status).toBe(201);
    const r = await api(f, `/api/sites/${site}/deploys`, {
      method: "POST",
      body: await makeTarGz([{ name: "index.html", data: `<h1>${site}</h1>` }]),
    });
    expect(r.status).toBe(201);
    survivors.push({ site, deployId: ((await r.json()) as { id: string }).id, pages: { "/": `<h1>${site}</h1>` } });
  }
});

afterAll(async () => {
  if (table.length) console.log(["entry | status | ms | worst loop hold (ms)", ...table].join("\n"));
  await f.stop();
  cleanup(f.dir);
});

for (const entry of corpus) {
  test(`${entry.name}: ${entry.about} → ${entry.status} ${entry.code}`, async () => {
    const body = await entry.bytes();
    await loopHoldMs(f); // starts a new window
    const t0 = performance.now();
    const res = await api(f, "/api/sites/blog/deploys", { method: "POST", body, signal: AbortSignal.timeout(10_000) });
    const err = await errorOf(res);
    const ms = performance.now() - t0;
    const hold = await loopHoldMs(f);
    table.push(`${entry.name} | ${err.status} | ${ms.toFixed(1)} | ${hold.toFixed(1)}`);
    expect({ status: err.status, code: err.code }).toEqual({ status: entry.status, code: entry.code });
    await expectHealthy(f, survivors);
  });
}
