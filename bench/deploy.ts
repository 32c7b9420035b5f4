// Deploy benchmark: a 5,000-file, ~50 MB tar.gz deployed through the HTTP API
// of a real server; reports seconds, the server's peak RSS (VmHWM) and the
// longest time it held its event loop (its own busy gauge, reset by each read).
// Then an unchanged redeploy of the same folder with `fazt deploy` (incremental),
// the same tree as a zip, the commit's hold at 10,000 and 50,000 tiny files,
// and GC of a deleted site while another is requested.
//
//   bun bench/deploy.ts [--binary] [--files 5000] [--mb 50] [--runs 3]
//
// Goal (issue #3): under 5 s and under 150 MB peak RSS for the archive deploy.
import { mkdirSync, rmSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { startFazt, runFazt, api, ROOT, type FaztProcess } from "../test/helpers/fazt.ts";
import { makeTarGz } from "../test/helpers/archives.ts";

const { values } = parseArgs({
  options: {
    binary: { type: "boolean" },
    files: { type: "string", default: "5000" },
    mb: { type: "string", default: "50" },
    runs: { type: "string", default: "3" },
  },
});
const FILES = Number(values.files);
const BYTES = Number(values.mb) * 1024 * 1024;
const RUNS = Number(values.runs);
const out = join(ROOT, "bench/out/deploy");
rmSync(out, { recursive: true, force: true });
const tree = join(out, "site");
mkdirSync(tree, { recursive: true });

// A site shaped like a real one: many small text pages (compressible), some
// images-like random files of a few hundred KiB, a couple of big ones.
let written = 0;
const seed = crypto.getRandomValues(new Uint8Array(1024 * 1024));
for (let i = 0; i < FILES; i++) {
  const dir = join(tree, `section${i % 50}`);
  mkdirSync(dir, { recursive: true });
  const left = BYTES - written;
  const filesLeft = FILES - i;
  const size =
    i % 100 === 0
      ? Math.min(left, 400 * 1024)
      : Math.max(0, Math.min(left, Math.round((left / filesLeft) * (0.5 + ((i * 7919) % 100) / 100))));
  const data = new Uint8Array(size);
  for (let off = 0; off < size; off += seed.length) data.set(seed.subarray(0, Math.min(seed.length, size - off)), off);
  data.set(new TextEncoder().encode(`file ${i} `).subarray(0, size));
  // Random bytes: content differs per file and does not compress away.
  crypto.getRandomValues(data.subarray(0, Math.min(size, 65536)));
  await Bun.write(join(dir, `f${i}.${i % 3 === 0 ? "html" : i % 3 === 1 ? "js" : "png"}`), data);
  written += size;
}
const archive = join(out, "site.tar.gz");
const tar = Bun.spawnSync(["tar", "czf", archive, "-C", tree, "."]);
if (tar.exitCode !== 0) throw new Error(tar.stderr.toString());
console.log(
  `tree: ${FILES} files, ${(written / 1024 / 1024).toFixed(1)} MiB; archive ${(statSync(archive).size / 1024 / 1024).toFixed(1)} MiB`,
);

/** The longest event-loop hold (ms, main-thread CPU bound) since the previous read; reading starts a new window. */
async function loopHeldMs(f: FaztProcess): Promise<number> {
  const text = await (await api(f, "/metrics")).text();
  return Number(/^fazt_event_loop_busy_max_seconds (\S+)$/m.exec(text)?.[1]) * 1000;
}

function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) / 1024 : NaN;
}

for (let run = 1; run <= RUNS; run++) {
  mkdirSync(join(out, `run${run}`));
  const f = await startFazt({ binary: values.binary === true, dir: join(out, `run${run}`) });
  try {
    await api(f, "/api/sites", { method: "POST", json: { name: "bench" } });
    const before = peakRssMiB(f.proc.pid);
    await loopHeldMs(f);
    const t0 = performance.now();
    const res = await api(f, "/api/sites/bench/deploys", { method: "POST", body: Bun.file(archive) });
    const secs = (performance.now() - t0) / 1000;
    const held = await loopHeldMs(f);
    const body = (await res.json()) as { files?: number; error?: unknown };
    if (res.status !== 201) throw new Error(`deploy failed: ${JSON.stringify(body)}`);
    const peak = peakRssMiB(f.proc.pid);
    const t1 = performance.now();
    const again = await runFazt(["deploy", tree, "--site", "bench"], {
      env: { FAZT_SERVER: f.url, FAZT_TOKEN: f.token! },
      binary: values.binary === true,
    });
    const redeploy = (performance.now() - t1) / 1000;
    if (again.code !== 0 || !again.stderr.includes("uploading 0 new")) throw new Error(`redeploy uploaded content: ${again.stderr}`);
    console.log(
      `run ${run}: archive deploy of ${body.files} files ${secs.toFixed(2)} s, longest event-loop hold ${held.toFixed(1)} ms, ` +
        `server peak RSS ${peak.toFixed(0)} MiB (${before.toFixed(0)} MiB at start); ` +
        `unchanged redeploy with fazt deploy ${redeploy.toFixed(2)} s, 0 bytes uploaded`,
    );
  } finally {
    await f.stop();
  }
}

// The same tree as a zip: spooled into temporary chunk rows, then read with random access.
{
  const zip = join(out, "site.zip");
  const z = Bun.spawnSync(["zip", "-qr", zip, "."], { cwd: tree });
  if (z.exitCode !== 0) throw new Error(z.stderr.toString());
  mkdirSync(join(out, "zip"));
  const f = await startFazt({ binary: values.binary === true, dir: join(out, "zip") });
  try {
    await api(f, "/api/sites", { method: "POST", json: { name: "bench" } });
    await loopHeldMs(f);
    const t0 = performance.now();
    const res = await api(f, "/api/sites/bench/deploys", { method: "POST", body: Bun.file(zip) });
    const secs = (performance.now() - t0) / 1000;
    const held = await loopHeldMs(f);
    if (res.status !== 201) throw new Error(`zip deploy failed: ${await res.text()}`);
    console.log(
      `zip: ${(statSync(zip).size / 1024 / 1024).toFixed(1)} MiB deployed in ${secs.toFixed(2)} s, longest event-loop hold ${held.toFixed(1)} ms, ` +
        `server peak RSS ${peakRssMiB(f.proc.pid).toFixed(0)} MiB`,
    );
  } finally {
    await f.stop();
  }
}

// The commit writes a deploy's manifest in one transaction: its hold grows with the file count.
{
  mkdirSync(join(out, "many"));
  const f = await startFazt({ binary: values.binary === true, dir: join(out, "many") });
  try {
    await api(f, "/api/sites", { method: "POST", json: { name: "many" } });
    for (const n of [10_000, 50_000]) {
      const encoder = new TextEncoder();
      const entries = Array.from({ length: n }, (_, i) => ({ name: `d${i % 100}/f${i}.html`, data: encoder.encode(`<p>${n} ${i}</p>`) }));
      const body = await makeTarGz(entries);
      await loopHeldMs(f);
      const t0 = performance.now();
      const res = await api(f, "/api/sites/many/deploys", { method: "POST", body });
      const secs = (performance.now() - t0) / 1000;
      const held = await loopHeldMs(f);
      if (res.status !== 201) throw new Error(`deploy of ${n} files failed: ${await res.text()}`);
      console.log(`${n} tiny files: deployed in ${secs.toFixed(2)} s, longest event-loop hold ${held.toFixed(1)} ms`);
    }
  } finally {
    await f.stop();
  }
}

// GC while serving: delete a deployed 50 MB site and collect its content
// while a client keeps requesting another site's page; report the slowest answer.
{
  mkdirSync(join(out, "gc"));
  const f = await startFazt({ binary: values.binary === true, dir: join(out, "gc") });
  try {
    for (const name of ["bench", "other"]) await api(f, "/api/sites", { method: "POST", json: { name } });
    await api(f, "/api/sites/bench/deploys", { method: "POST", body: Bun.file(archive) });
    await api(f, "/api/sites/other/files/index.html", { method: "PUT", body: "<h1>still here</h1>" });
    await api(f, "/api/gc", { method: "POST" }); // nothing to collect yet: a clean start
    await loopHeldMs(f);
    await api(f, "/api/sites/bench", { method: "DELETE" });
    const deleteHeld = await loopHeldMs(f);
    let stop = false;
    const latencies: number[] = [];
    const client = (async () => {
      while (!stop) {
        const t = performance.now();
        const r = await fetch(`${f.url}/`, { headers: { host: "other.localhost" } });
        await r.text();
        latencies.push(performance.now() - t);
      }
    })();
    const t0 = performance.now();
    const gc = (await (await api(f, "/api/gc", { method: "POST" })).json()) as { blobs: number; bytes: number };
    const gcSecs = (performance.now() - t0) / 1000;
    const gcHeld = await loopHeldMs(f);
    stop = true;
    await client;
    latencies.sort((a, b) => a - b);
    const p = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1);
    console.log(
      `site deletion: longest event-loop hold ${deleteHeld.toFixed(1)} ms; ` +
        `gc: ${gc.blobs} blobs, ${(gc.bytes / 1024 / 1024).toFixed(1)} MiB in ${gcSecs.toFixed(2)} s, longest hold ${gcHeld.toFixed(1)} ms; ` +
        `${latencies.length} requests to another site meanwhile: p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms`,
    );
  } finally {
    await f.stop();
  }
}
