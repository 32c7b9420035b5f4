// Text imports (`with { type: "text" }`) used to embed SQL and UI assets.
declare module "*.sql" {
  const text: string;
  export default text;
}

// Build constants (build.ts passes them with --define; absent when run from source).
declare const FAZT_VERSION: string | undefined;
declare const FAZT_COMMIT: string | undefined;
declare const FAZT_BUILT_AT: string | undefined;
declare const FAZT_REPOSITORY: string | undefined;
