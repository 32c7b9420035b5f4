import { describe, expect, test } from "bun:test";
import { Registry, MAX_SERIES_PER_METRIC } from "../src/metrics/registry.ts";
import { HttpMetrics, ADMIN, SITE } from "../src/metrics/http.ts";

describe("metrics registry", () => {
  test("text exposition: HELP, TYPE, labelled series, escaped label values", () => {
    const r = new Registry();
    const c = r.counter("fazt_things_total", "Things.\nDone", ["kind"]);
    c.labels('a"b\\c\nd').inc(2);
    r.gauge("fazt_level", "A level.").labels().set(1.5);
    expect(r.expose()).toBe(
      [
        "# HELP fazt_things_total Things.\\nDone",
        "# TYPE fazt_things_total counter",
        'fazt_things_total{kind="a\\"b\\\\c\\nd"} 2',
        "# HELP fazt_level A level.",
        "# TYPE fazt_level gauge",
        "fazt_level 1.5",
        "",
      ].join("\n"),
    );
  });

  test("collect hooks run before exposition; registering twice returns the same metric; clashes throw", () => {
    const r = new Registry();
    let n = 0;
    const g = r.gauge("fazt_n", "N.");
    r.onCollect(() => g.labels().set(++n));
    expect(r.expose()).toContain("fazt_n 1");
    expect(r.expose()).toContain("fazt_n 2");
    expect(r.gauge("fazt_n", "N.")).toBe(g);
    expect(() => r.counter("fazt_n", "N.")).toThrow(/another type/);
    expect(() => r.counter("bad name", "x")).toThrow(/invalid metric name/);
    expect(() => g.labels("extra")).toThrow(/takes 0 label values/);
  });

  test("label cardinality is bounded: past the cap, series fold into 'other'", () => {
    const c = new Registry().counter("fazt_x_total", "X.", ["k"]);
    for (let i = 0; i < MAX_SERIES_PER_METRIC + 50; i++) c.labels(`v${i}`).inc();
    const out: string[] = [];
    c.expose(out);
    expect(out.length - 2).toBe(MAX_SERIES_PER_METRIC + 1);
    expect(out).toContain('fazt_x_total{k="other"} 50');
  });

  test("HTTP request counts by host class and status class", () => {
    const r = new Registry();
    const m = new HttpMetrics(r);
    m.count(SITE, 200);
    m.count(SITE, 204);
    m.count(ADMIN, 401);
    m.count(SITE, 999); // out of range: folded into 5xx
    const text = r.expose();
    expect(text).toContain('fazt_http_requests_total{host="site",code="2xx"} 2');
    expect(text).toContain('fazt_http_requests_total{host="admin",code="4xx"} 1');
    expect(text).toContain('fazt_http_requests_total{host="site",code="5xx"} 1');
  });
});
