// File imports that embed SQL (`with { type: "text" }`) and the UI's assets
// (`with { type: "file" }`: the path of the embedded file).
declare module "*.sql" {
  const text: string;
  export default text;
}
declare module "*.css" {
  const path: string;
  export default path;
}
declare module "*.js" {
  const path: string;
  export default path;
}

// parse-prometheus-text-format ships no types (used by the tests only).
declare module "parse-prometheus-text-format" {
  export default function parsePrometheusTextFormat(text: string): unknown[];
}

// Build constants (build.ts passes them with --define; absent when run from source).
declare const FAZT_VERSION: string | undefined;
declare const FAZT_COMMIT: string | undefined;
declare const FAZT_BUILT_AT: string | undefined;
declare const FAZT_REPOSITORY: string | undefined;
