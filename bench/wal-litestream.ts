// WAL growth under load, with and without Litestream holding its read lock:
// deploys (1 MiB each) and wrk traffic for a while, the -wal file sampled
// every 50 ms. Fazt only checkpoints passively (SQLite's autocheckpoint), so
// with Litestream the WAL is checkpointed by Litestream after it has copied it.
//
//   bun bench/wal-litestream.ts [--seconds 15] [--connections 16]
import { mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import { runFazt, startFazt, ROOT } from "../test/helpers/fazt.ts";
import { deploySite } from "../test/helpers/ops.ts";
import { replicate, type Replicator } from "../test/helpers/litestream.ts";
import { wrk } from "../test/helpers/wrk.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "15" },
    connections: { type: "string", default: "16" },
    // Pause between deploys: 0 is a deploy storm (the WAL's worst case), 1000 a busy CI.
    "deploy-interval-ms": { type: "string", default: "0" },
    settle: { type: "string", default: "10" },
  },
});
const INTERVAL = Number(values["deploy-interval-ms"]);
const SETTLE = Number(values.settle);
const SECONDS = Number(values.seconds);
const root = join(ROOT, "bench/out/wal");
rmSync(root, { recursive: true, force: true });

const walMiB = (db: string) => {
  try {
    return statSync(`${db}-wal`).size / 1024 / 1024;
  } catch {
    return 0;
  }
};

async function run(withLitestream: boolean): Promise<string> {
  const dir = join(root, withLitestream ? "litestream" : "plain");
  mkdirSync(dir, { recursive: true });
  const f = await startFazt({ dir });
  let ls: Replicator | null = null;
  try {
    await deploySite(f, "load", { "/index.html": new TextEncoder().encode("<p>load</p>") });
    if (withLitestream) {
      const cfg = await runFazt(["litestream-config", "--replica", `file://${join(dir, "replica")}`, "--db", f.db]);
      writeFileSync(join(dir, "litestream.yml"), cfg.stdout);
      ls = await replicate(join(dir, "litestream.yml"));
    }
    const samples: number[] = [];
    const sampler = setInterval(() => samples.push(walMiB(f.db)), 50);
    const load = wrk(`${f.url}/index.html`, {
      seconds: SECONDS,
      connections: Number(values.connections),
      headers: { Host: "load.localhost" },
    });
    const end = Date.now() + SECONDS * 1000;
    let deploys = 0;
    while (Date.now() < end) {
      await deploySite(f, "churn", {
        "/index.html": new TextEncoder().encode(`<p>${deploys}</p>`),
        "/data.bin": new Uint8Array(randomBytes(1024 * 1024)),
      });
      deploys++;
      if (INTERVAL > 0) await Bun.sleep(INTERVAL);
    }
    const traffic = await load;
    clearInterval(sampler);
    const atEnd = walMiB(f.db);
    // After the load: does the WAL come back down (checkpoint, reset, journal_size_limit)?
    await Bun.sleep(SETTLE * 1000);
    await deploySite(f, "load", { "/index.html": new TextEncoder().encode("<p>after</p>") }); // a write lets SQLite reset the WAL
    await Bun.sleep(2000);
    const settled = walMiB(f.db);
    const max = Math.max(...samples);
    const mean = samples.reduce((a, b) => a + b, 0) / samples.length;
    return `| ${withLitestream ? "with Litestream" : "without"} | ${deploys} | ${traffic.rps.toFixed(0)} | ${mean.toFixed(1)} | ${max.toFixed(1)} | ${atEnd.toFixed(1)} | ${settled.toFixed(1)} |`;
  } finally {
    await ls?.stop();
    await f.stop();
  }
}

const rows = [await run(false), await run(true)];
console.log(`${SECONDS} s of deploys (1 MiB each, ${INTERVAL} ms apart, keep-deploys 10) and wrk traffic:`);
console.log(`| run | deploys | req/s | mean WAL MiB | max WAL MiB | WAL MiB at end of load | WAL MiB ${SETTLE + 2} s later |`);
console.log("|---|---|---|---|---|---|---|");
for (const r of rows) console.log(r);
