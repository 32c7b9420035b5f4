// The response cache's byte budget (keys included): never exceeded, recently hit entries survive.
import { expect, test } from "bun:test";
import { ByteCache } from "../src/serve/cache.ts";

test("stays within its byte budget across maps; a hit earns a second chance", () => {
  const cache = new ByteCache<{ bytes: number }>(1000, 400);
  const a = cache.newMap();
  const b = cache.newMap();
  cache.set(a, "hot", { bytes: 300 }, 300);
  for (let i = 0; i < 50; i++) {
    cache.set(i % 2 ? a : b, `k${i}`, { bytes: 100 }, 100);
    expect(cache.get(a, "hot")).toBeDefined(); // hit every time: kept
    expect(cache.bytes).toBeLessThanOrEqual(1000);
  }
  expect(cache.get(b, "k0")).toBeUndefined(); // cold and old: evicted
  expect(cache.get(a, "k49")).toBeDefined();
  expect(cache.set(a, "huge", { bytes: 401 }, 401).bytes).toBe(401); // returned, not kept
  expect(cache.get(a, "huge")).toBeUndefined();
  cache.set(a, "k".repeat(390), { bytes: 20 }, 20); // the key counts: 410 bytes, not kept
  expect(cache.get(a, "k".repeat(390))).toBeUndefined();
  cache.set(a, "hot", { bytes: 50 }, 50); // replacing frees the old size
  expect(cache.bytes).toBeLessThanOrEqual(1000);
  cache.clear();
  expect([cache.bytes, cache.size, a.size, b.size]).toEqual([0, 0, 0, 0]);
});
