// Text imports (`with { type: "text" }`) used to embed SQL and UI assets.
declare module "*.sql" {
  const text: string;
  export default text;
}

// parse-prometheus-text-format ships no types (used by the tests only).
declare module "parse-prometheus-text-format" {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}
