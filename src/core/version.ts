// What this fazt is. A build (build.ts) defines FAZT_VERSION, FAZT_COMMIT,
// FAZT_BUILT_AT and FAZT_REPOSITORY as constants; run from source they are absent.
import pkg from "../../package.json" with { type: "json" };

export const VERSION: string = typeof FAZT_VERSION === "string" ? FAZT_VERSION : pkg.version;
/** Short git commit of the build, "dev" when run from source. */
export const COMMIT: string = typeof FAZT_COMMIT === "string" ? FAZT_COMMIT : "dev";
/** ISO 8601 build time, null when run from source. */
export const BUILT_AT: string | null = typeof FAZT_BUILT_AT === "string" ? FAZT_BUILT_AT : null;
/** GitHub "owner/name" the build came from (its releases), null when unknown. */
export const REPOSITORY: string | null = typeof FAZT_REPOSITORY === "string" && FAZT_REPOSITORY !== "" ? FAZT_REPOSITORY : null;

/** `fazt version`: the version first, then commit and build date. */
export function versionLine(): string {
  return `${VERSION} (commit ${COMMIT}, built ${BUILT_AT ?? "from source"})`;
}
