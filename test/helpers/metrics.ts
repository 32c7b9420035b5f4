// Reading one value from a running fazt's /metrics: the server's own account
// of what it has done, which tests wait on instead of sleeping.
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { api, type FaztProcess } from "./fazt.ts";

interface Family {
  name: string;
  metrics: { value?: string; labels?: Record<string, string> }[];
}

/**
 * The value of metric `name` with these labels (a subset match). Throws when
 * fazt does not export the metric at all; 0 when it has no such series yet
 * (a labelled counter before its first increment).
 */
export async function metric(f: FaztProcess, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await api(f, "/metrics");
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status}`);
  const family = (parsePrometheusTextFormat(await res.text()) as Family[]).find((m) => m.name === name);
  if (!family) throw new Error(`no metric ${name} in /metrics`);
  const series = family.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return series ? Number(series.value) : 0;
}
