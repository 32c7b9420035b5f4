// The hostile archive corpus (test/corpus/archives) against a real server:
// for each entry, its answer, the time to answer and the worst event-loop
// hold during the request (fazt_event_loop_lag_max_seconds, scraped before
// and after), over several rounds. On a shared, loaded machine the max column
// also catches the process being descheduled: read the median first. Two honest deploys run alongside for scale.
//   bun bench/archive-corpus.ts [--rounds 5] [--binary]
import { parseArgs } from "node:util";
import { api, cleanup, startFazt } from "../test/helpers/fazt.ts";
import { makeZip, makeTarGz } from "../test/helpers/archives.ts";
import { corpus, type CorpusEntry } from "../test/corpus/archives/corpus.ts";

const { values } = parseArgs({ options: { rounds: { type: "string", default: "5" }, binary: { type: "boolean" } } });
const rounds = Number(values.rounds);
const MiB = 1024 * 1024;

const honest: CorpusEntry[] = [
  {
    name: "honest-zip-19-files-1.3MiB",
    about: "",
    bytes: () =>
      makeZip(
        Array.from({ length: 19 }, (_, i) => ({
          name: `f${i}.bin`,
          data: crypto.getRandomValues(new Uint8Array(70 * 1024)),
          deflate: i % 2 === 0,
        })),
      ),
    status: 201,
    code: "(none)",
  },
  {
    name: "honest-tar.gz-19-files-1.3MiB",
    about: "",
    bytes: () =>
      makeTarGz(Array.from({ length: 19 }, (_, i) => ({ name: `f${i}.bin`, data: crypto.getRandomValues(new Uint8Array(70 * 1024)) }))),
    status: 201,
    code: "(none)",
  },
];

const f = await startFazt({
  binary: values.binary === true,
  args: ["--max-file-bytes", String(MiB), "--max-deploy-bytes", String(3 * MiB), "--max-files", "20", "--keep-deploys", "2"],
});
const hold = async () => Number(/^fazt_event_loop_lag_max_seconds (\S+)$/m.exec(await (await api(f, "/metrics")).text())![1]) * 1000;
try {
  await api(f, "/api/sites", { method: "POST", json: { name: "bench" } });
  console.log("| entry | status | median ms | max ms | loop hold ms, median | loop hold ms, max |\n|---|---|---|---|---|---|");
  for (const entry of [...corpus, ...honest]) {
    const times: number[] = [];
    const holds: number[] = [];
    let status = 0;
    for (let r = 0; r < rounds; r++) {
      const body = await entry.bytes();
      await hold();
      const t0 = performance.now();
      const res = await api(f, "/api/sites/bench/deploys", { method: "POST", body });
      await res.arrayBuffer();
      times.push(performance.now() - t0);
      holds.push(await hold());
      status = res.status;
      if (status !== entry.status) throw new Error(`${entry.name}: ${status}, expected ${entry.status}`);
    }
    const mid = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1]!.toFixed(1);
    console.log(
      `| ${entry.name} | ${status} | ${mid(times)} | ${times.at(-1)!.toFixed(1)} | ${mid(holds)} | ${holds.at(-1)!.toFixed(1)} |`,
    );
  }
} finally {
  await f.stop();
  cleanup(f.dir);
}
