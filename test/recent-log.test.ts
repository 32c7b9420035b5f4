// The in-memory ring of recent warnings and errors: bounded by count and by
// bytes whatever is logged, newest first, long messages and fields cut.
import { expect, test } from "bun:test";
import { MAX_BYTES, MAX_RECORDS, RecentLog } from "../src/log/recent.ts";

test("keeps the newest records up to the count bound", () => {
  const ring = new RecentLog();
  for (let i = 0; i < MAX_RECORDS * 3; i++) ring.add(i % 2 ? "warn" : "error", `event ${i}`, { i });
  const list = ring.list();
  expect(list).toHaveLength(MAX_RECORDS);
  expect(list[0]).toMatchObject({ msg: `event ${MAX_RECORDS * 3 - 1}`, level: "warn", detail: `{"i":${MAX_RECORDS * 3 - 1}}` });
  expect(list.at(-1)!.msg).toBe(`event ${MAX_RECORDS * 2}`);
});

test("long messages and fields are cut; the bytes bound holds for any sizes", () => {
  const sizes: [number, number][] = [
    [10, 10],
    [10_000, 10],
    [10, 1_000_000],
    [1_000_000, 1_000_000],
    [3000, 1999],
  ];
  for (const [msgChars, fieldChars] of sizes) {
    const ring = new RecentLog();
    for (let i = 0; i < 500; i++) ring.add("error", "m".repeat(msgChars), { text: "é".repeat(fieldChars), n: i });
    expect(ring.size).toBeLessThanOrEqual(MAX_BYTES);
    const newest = ring.list()[0]!;
    expect(newest.msg.length).toBeLessThanOrEqual(500);
    expect(newest.detail!.length).toBeLessThanOrEqual(2000);
    expect(ring.list().length).toBeGreaterThan(0);
  }
});

test("errors become their message; fields that cannot be serialised do not throw", () => {
  const ring = new RecentLog();
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  ring.add("error", "boom", { err: new Error("disk full"), big: 10n });
  ring.add("warn", "cyclic", cyclic);
  ring.add("warn", "plain", undefined);
  const [plain, cyc, boom] = ring.list();
  expect(plain).toMatchObject({ msg: "plain", detail: null });
  expect(cyc!.detail).toBe("(fields not serialisable)");
  expect(boom!.detail).toBe('{"err":"disk full","big":"10"}');
});
