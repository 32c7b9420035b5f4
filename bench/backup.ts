// Backup under load: req/s of a small page with and without GET /api/backup
// streaming at the same time (rounds alternate), the server's RSS while a
// backup streams, and the backup's throughput.
//
//   bun bench/backup.ts [--mb 200] [--rounds 3] [--seconds 5] [--connections 32]
//
// Goal (issue #14): the req/s dip while a backup streams stays under 10 %.
import { readFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import { api, startFazt, ROOT } from "../test/helpers/fazt.ts";
import { seedDeploy } from "../test/helpers/sites.ts";
import { wrk } from "../test/helpers/wrk.ts";

const { values } = parseArgs({
  options: {
    mb: { type: "string", default: "200" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
  },
});
const out = join(ROOT, "bench/out/backup");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const db = join(out, "fazt.db");

// Content: sites of 1 MiB random files (incompressible, so the database really is this big).
const mb = Number(values.mb);
for (let s = 0; s * 20 < mb; s++) {
  const files: Record<string, Uint8Array> = { "/index.html": new TextEncoder().encode(`<!doctype html><p>site ${s}</p>`) };
  for (let i = 0; i < Math.min(20, mb - s * 20); i++) files[`/f${i}.bin`] = new Uint8Array(randomBytes(1024 * 1024));
  seedDeploy(db, `site${s}`, files);
}

const rssMiB = (pid: number, field = "VmRSS") =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) / 1024;
const f = await startFazt({ dir: out, db });
/** utime + stime of a process, in seconds. */
const cpuSeconds = (pid: number) => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // clock ticks (USER_HZ 100)
};

/** Stream one backup to nowhere, sampling the server's RSS; returns bytes, seconds and the largest RSS seen. */
async function oneBackup(): Promise<{ bytes: number; secs: number; maxRss: number }> {
  let maxRss = rssMiB(f.proc.pid);
  const sampler = setInterval(() => (maxRss = Math.max(maxRss, rssMiB(f.proc.pid))), 20);
  const t0 = performance.now();
  const res = await api(f, "/api/backup");
  let bytes = 0;
  for await (const chunk of res.body!) bytes += chunk.byteLength;
  clearInterval(sampler);
  if (res.status !== 200) throw new Error(`backup answered ${res.status}`);
  return { bytes, secs: (performance.now() - t0) / 1000, maxRss };
}

try {
  const target = `${f.url}/index.html`;
  const opts = { seconds: Number(values.seconds), connections: Number(values.connections), headers: { Host: "site0.localhost" } };
  await wrk(target, { ...opts, seconds: 2 }); // warm up
  const rows: string[] = [];
  const ratios: number[] = [];
  console.log(`database ${(Bun.file(db).size / 1024 / 1024).toFixed(0)} MiB; RSS idle ${rssMiB(f.proc.pid).toFixed(0)} MiB`);
  for (let round = 1; round <= Number(values.rounds); round++) {
    const base = await wrk(target, opts);
    let stop = false;
    const backups: Awaited<ReturnType<typeof oneBackup>>[] = [];
    const loop = (async () => {
      while (!stop) backups.push(await oneBackup());
    })();
    const loaded = await wrk(target, opts);
    stop = true;
    await loop;
    const failed = (r: typeof base) => r.connectErrors + r.readErrors + r.writeErrors + r.timeouts + r.non2xx3xx;
    const b = backups[0]!;
    const ratio = loaded.rps / base.rps;
    ratios.push(ratio);
    rows.push(
      `| ${round} | ${base.rps.toFixed(0)} | ${loaded.rps.toFixed(0)} | ${ratio.toFixed(3)} | ${failed(base) + failed(loaded)} | ${backups.length} | ` +
        `${(b.bytes / 1024 / 1024 / b.secs).toFixed(0)} | ${Math.max(...backups.map((x) => x.maxRss)).toFixed(0)} |`,
    );
  }
  console.log(
    "| round | req/s alone | req/s during backups | ratio | failed requests | backups streamed | backup MiB/s | max RSS MiB during backups |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const r of rows) console.log(r);
  ratios.sort((a, b) => a - b);
  console.log(
    `median ratio ${ratios[Math.floor(ratios.length / 2)]!.toFixed(3)}; server peak RSS (VmHWM) ${rssMiB(f.proc.pid, "VmHWM").toFixed(0)} MiB`,
  );
  // Robust to other load on the machine: the server's own CPU time while one backup streams with no traffic.
  const cpu0 = cpuSeconds(f.proc.pid);
  const idle = await oneBackup();
  const cpu = cpuSeconds(f.proc.pid) - cpu0;
  console.log(
    `one backup alone: ${(idle.bytes / 1024 / 1024).toFixed(0)} MiB in ${idle.secs.toFixed(1)} s, server CPU ${cpu.toFixed(2)} s ` +
      `= ${((cpu / idle.secs) * 100).toFixed(1)} % of one core (the most it can take from requests), max RSS ${idle.maxRss.toFixed(0)} MiB`,
  );
} finally {
  await f.stop();
}
