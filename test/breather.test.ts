// A long job on the event loop gives pending I/O a turn once it has held the
// thread for a slice; a job that only awaits ready promises never does.
import { describe, expect, test } from "bun:test";
import { Breather } from "../src/core/breather.ts";

/** Spin for `ms` of CPU, awaiting `step()` between slivers of work; whether a request to a local server was answered before the job ended. */
async function answeredDuringJob(ms: number, step: () => Promise<void> | undefined): Promise<boolean> {
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response("ok") });
  try {
    let jobDone = false;
    let answeredFirst = false;
    const answer = fetch(server.url).then(async (r) => {
      await r.text();
      answeredFirst = !jobDone;
    });
    const end = performance.now() + ms;
    while (performance.now() < end) await step();
    jobDone = true;
    await answer;
    return answeredFirst;
  } finally {
    server.stop(true);
  }
}

describe("Breather", () => {
  test("within its slice it does not yield; past it, it yields once and starts a new slice", async () => {
    const b = new Breather(50);
    expect(b.breathe()).toBeUndefined();
    const spinUntil = performance.now() + 60;
    while (performance.now() < spinUntil);
    const turn = b.breathe();
    expect(turn).toBeInstanceOf(Promise);
    await turn;
    expect(b.breathe()).toBeUndefined();
  });

  test("a breathing job lets a request be answered while it runs", async () => {
    const b = new Breather(2);
    expect(await answeredDuringJob(300, () => b.breathe())).toBe(true);
  });

  test("without it, awaiting ready promises holds the loop until the job ends", async () => {
    expect(await answeredDuringJob(300, () => Promise.resolve())).toBe(false);
  });
});
