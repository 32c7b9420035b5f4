// /metrics on a running server, parsed by a real Prometheus text-format
// parser: values move with traffic; per-site series are bounded by sites.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { api, cleanup, hostFetch, startFazt, tempDir, type FaztProcess } from "./helpers/fazt.ts";
import { deploySite, siteFiles } from "./helpers/ops.ts";

interface Family {
  name: string;
  type: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}

async function scrape(f: FaztProcess): Promise<Map<string, Family>> {
  const res = await api(f, "/metrics");
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  const families = parsePrometheusTextFormat(await res.text()) as Family[];
  return new Map(families.map((m) => [m.name, m]));
}

function value(m: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const family = m.get(name);
  if (!family) throw new Error(`no metric ${name}`);
  const series = family.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  if (!series) throw new Error(`no series ${name}${JSON.stringify(labels)}`);
  return Number(series.value);
}

describe("/metrics on a live server", () => {
  let f: FaztProcess;
  let dir: string;
  beforeAll(async () => {
    dir = tempDir("fazt-metrics-");
    f = await startFazt({ dir });
    await deploySite(f, "shop", siteFiles("shop"));
  });
  afterAll(async () => {
    await f?.stop();
    cleanup(dir);
  });

  test("needs an admin token", async () => {
    expect((await api(f, "/metrics", { token: null })).status).toBe(401);
  });

  test("requests, bytes, cache, in-flight, process, database and analytics values move with traffic", async () => {
    const before = await scrape(f);
    const identity = { headers: { "accept-encoding": "identity" } };
    for (let i = 0; i < 20; i++) await (await hostFetch(f, "shop.localhost", "/index.html", identity)).arrayBuffer();
    for (let i = 0; i < 3; i++) await (await hostFetch(f, "shop.localhost", "/missing")).arrayBuffer();
    await (await hostFetch(f, "nobody.localhost", "/")).arrayBuffer();
    const after = await scrape(f);
    const d = (name: string, labels?: Record<string, string>) => value(after, name, labels) - value(before, name, labels);

    expect(d("fazt_site_requests_total", { site: "shop", code: "2xx" })).toBe(20);
    expect(d("fazt_site_requests_total", { site: "shop", code: "4xx" })).toBe(3);
    expect(d("fazt_http_requests_total", { host: "site", code: "2xx" })).toBe(20);
    expect(d("fazt_http_requests_total", { host: "unknown", code: "4xx" })).toBe(1);
    expect(d("fazt_site_response_bytes_total", { site: "shop" })).toBeGreaterThanOrEqual(20 * 1200);
    expect(d("fazt_cache_hits_total")).toBeGreaterThanOrEqual(19);
    expect(d("fazt_cache_misses_total")).toBeGreaterThanOrEqual(1);
    expect(value(after, "fazt_cache_bytes")).toBeGreaterThan(1200);
    expect(value(after, "fazt_http_in_flight_requests")).toBeGreaterThanOrEqual(1); // this scrape itself
    expect(value(after, "fazt_process_resident_memory_bytes")).toBeGreaterThan(10 * 1024 * 1024);
    expect(value(after, "fazt_event_loop_lag_max_seconds")).toBeGreaterThanOrEqual(0);
    expect(value(after, "fazt_db_bytes") + value(after, "fazt_db_wal_bytes")).toBeGreaterThan(600 * 1024);
    expect(value(after, "fazt_analytics_buffered_events") + d("fazt_analytics_written_events_total")).toBeGreaterThanOrEqual(23);
    expect(value(after, "fazt_analytics_dropped_events_total")).toBe(0);
    expect(after.get("fazt_site_requests_total")!.type).toBe("COUNTER");
    expect(after.get("fazt_db_wal_bytes")!.type).toBe("GAUGE");
  });

  test("per-site labels come from site names only: hostile hosts and paths add no series; a deleted site's series go", async () => {
    const countSeries = (m: Map<string, Family>) => [...m.values()].reduce((n, fam) => n + fam.metrics.length, 0);
    const before = countSeries(await scrape(f));
    for (let i = 0; i < 50; i++) {
      await (await hostFetch(f, `x${i}-${"a".repeat(i)}.localhost`, `/p${i}?q=${i}`)).arrayBuffer();
      await (await hostFetch(f, "shop.localhost", `/nope/${i}/${"%22".repeat(i)}`)).arrayBuffer();
    }
    const after = await scrape(f);
    expect(countSeries(after)).toBe(before);
    const labelled = after.get("fazt_site_requests_total")!.metrics.map((s) => s.labels!.site);
    expect(new Set(labelled)).toEqual(new Set(["shop"]));

    await deploySite(f, "temp", siteFiles("temp", 1000));
    await (await hostFetch(f, "temp.localhost", "/")).arrayBuffer();
    expect(value(await scrape(f), "fazt_site_requests_total", { site: "temp", code: "2xx" })).toBe(1);
    expect((await api(f, "/api/sites/temp", { method: "DELETE" })).status).toBeLessThan(300);
    const gone = (await scrape(f)).get("fazt_site_requests_total")!.metrics.filter((s) => s.labels!.site === "temp");
    expect(gone).toEqual([]);
  });
});
