// A tiny Prometheus registry: counters and gauges with labels, and the text
// exposition format (version 0.0.4). Hot paths resolve a labelled child once
// and keep it, so counting is one property increment with no allocation.

class MetricSeries {
  value = 0;
  constructor(readonly labelValues: readonly string[]) {}
}

export class CounterSeries extends MetricSeries {
  inc(n = 1): void {
    this.value += n;
  }
}

class GaugeSeries extends MetricSeries {
  set(v: number): void {
    this.value = v;
  }
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

/** Series past this many per metric share one "other" series: cardinality stays bounded. */
export const MAX_SERIES_PER_METRIC = 500;
const NAME_RE = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_RE = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

abstract class Metric<S extends MetricSeries> {
  private readonly series = new Map<string, S>();
  abstract readonly type: "counter" | "gauge";

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly make: (values: readonly string[]) => S,
  ) {
    if (!NAME_RE.test(name)) throw new Error(`invalid metric name "${name}"`);
    for (const l of labelNames) if (!LABEL_RE.test(l)) throw new Error(`invalid label name "${l}" on ${name}`);
  }

  /** The series for these label values (created on first use; keep it for hot paths). */
  labels(...values: string[]): S {
    if (values.length !== this.labelNames.length) {
      throw new Error(`${this.name} takes ${this.labelNames.length} label values, got ${values.length}`);
    }
    const key = values.join("\u0000");
    let s = this.series.get(key);
    if (s) return s;
    if (this.series.size >= MAX_SERIES_PER_METRIC && values.some((v) => v !== "other")) {
      return this.labels(...values.map(() => "other"));
    }
    s = this.make(values);
    this.series.set(key, s);
    return s;
  }

  /** Forget a series (for example a deleted site's). */
  remove(...values: string[]): void {
    this.series.delete(values.join("\u0000"));
  }

  expose(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    for (const s of this.series.values()) {
      const labels = s.labelValues.length ? `{${s.labelValues.map((v, i) => `${this.labelNames[i]}="${escapeLabel(v)}"`).join(",")}}` : "";
      out.push(`${this.name}${labels} ${formatValue(s.value)}`);
    }
  }
}

export class Counter extends Metric<CounterSeries> {
  readonly type = "counter";
  constructor(name: string, help: string, labelNames: readonly string[]) {
    super(name, help, labelNames, (v) => new CounterSeries(v));
  }
}

class Gauge extends Metric<GaugeSeries> {
  readonly type = "gauge";
  constructor(name: string, help: string, labelNames: readonly string[]) {
    super(name, help, labelNames, (v) => new GaugeSeries(v));
  }
}

export class Registry {
  private readonly metrics = new Map<string, Counter | Gauge>();
  private readonly collectors: (() => void)[] = [];

  counter(name: string, help: string, labelNames: readonly string[] = []): Counter {
    return this.add(new Counter(name, help, labelNames));
  }

  gauge(name: string, help: string, labelNames: readonly string[] = []): Gauge {
    return this.add(new Gauge(name, help, labelNames));
  }

  /** Run fn before each exposition, to set gauges that are read rather than tracked. */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  /** The Prometheus text exposition of every metric. */
  expose(): string {
    for (const fn of this.collectors) fn();
    const out: string[] = [];
    for (const m of this.metrics.values()) m.expose(out);
    return `${out.join("\n")}\n`;
  }

  /** Registering the same metric twice returns the first; a clash of type or labels is an error. */
  private add<M extends Counter | Gauge>(metric: M): M {
    const existing = this.metrics.get(metric.name);
    if (existing) {
      if (existing.type !== metric.type || existing.labelNames.join() !== metric.labelNames.join()) {
        throw new Error(`metric ${metric.name} is already registered with another type or labels`);
      }
      return existing as M;
    }
    this.metrics.set(metric.name, metric);
    return metric;
  }
}

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
