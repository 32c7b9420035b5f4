// A file's path inside a deploy: "/a/b.html". Archive member names and API
// paths are checked strictly here, so nothing can point outside the site or
// mean two different things to two different layers.
import { VfsError } from "./errors.ts";

// Percent-encoded dot, slash, backslash or NUL left after decoding: a double-encoding trick.
const ENCODED_TRICK = /%(2e|2f|5c|00)/i;
// C0 controls and DEL.
const CONTROL = /[\u0000-\u001f\u007f]/;

function invalid(name: string, why: string): VfsError {
  const shown = JSON.stringify(name.length > 200 ? `${name.slice(0, 200)}…` : name);
  return new VfsError(400, "invalid_path", `invalid path ${shown}: ${why}`);
}

/**
 * Normalise an archive member name ("./a/b.html", "a/b.html") to "/a/b.html".
 * Refuses absolute paths, "..", ".", empty segments, backslashes, NUL and
 * other control characters, and percent-encoded dots or slashes.
 */
export function deployPath(name: string, maxLength: number): string {
  let rel = name;
  while (rel.startsWith("./")) rel = rel.slice(2);
  if (rel.startsWith("/")) throw invalid(name, "absolute paths are not allowed");
  if (rel.includes("\\")) throw invalid(name, "backslashes are not allowed");
  if (CONTROL.test(rel)) throw invalid(name, "control characters (NUL, newline, ...) are not allowed");
  if (rel === "") throw invalid(name, "empty path");
  for (const seg of rel.split("/")) {
    if (seg === "..") throw invalid(name, '".." is not allowed');
    if (seg === "." || seg === "") throw invalid(name, "empty or '.' path segments are not allowed");
    if (ENCODED_TRICK.test(seg)) throw invalid(name, "percent-encoded dots, slashes or NUL are not allowed");
  }
  const path = `/${rel}`;
  if (path.length > maxLength) {
    throw new VfsError(
      413,
      "path_too_long",
      `path ${JSON.stringify(`${path.slice(0, 80)}…`)} is longer than the path length limit (${maxLength}; --max-path-length)`,
    );
  }
  return path;
}

/** A path taken from a URL (percent-encoded segments), as in PUT /files/*path. */
export function deployPathFromUrl(encoded: string, maxLength: number): string {
  let decoded: string;
  try {
    decoded = encoded.split("/").map(decodeURIComponent).join("/");
  } catch {
    throw invalid(encoded, "malformed percent-encoding");
  }
  // A decoded segment holding "/" was an encoded slash: refuse rather than guess.
  if (encoded.split("/").some((s) => /%2f/i.test(s))) throw invalid(encoded, "encoded slashes are not allowed");
  return deployPath(decoded, maxLength);
}

/**
 * Whether a deploy path is hidden: a dotfile or anything in a dot-folder
 * (/.env, /.git/config, /a/.DS_Store). /.well-known/ is the exception (RFC
 * 8615: security.txt, assetlinks.json, ...) as long as nothing under it is
 * itself hidden. Hidden paths are left out of a deploy unless the site opts
 * in, whatever way they come in (archive, manifest, single-file PUT, CLI).
 */
export function isHiddenPath(path: string): boolean {
  const segments = path.split("/").slice(1);
  return segments.some((seg, i) => seg.startsWith(".") && !(i === 0 && seg === ".well-known" && segments.length > 1));
}

/** /.fazt/ belongs to the server (POST /.fazt/forms/NAME): never published, whatever the dotfiles setting. */
export function isReservedPath(path: string): boolean {
  return path === "/.fazt" || path.startsWith("/.fazt/");
}

/** Refuse a hidden path named on purpose (a single-file PUT, a manifest): leaving it out silently would mislead. */
export function assertPublishable(path: string, includeDotfiles: boolean): void {
  if (isReservedPath(path)) throw new VfsError(400, "reserved_path", `${path} is under /.fazt/, which the server reserves for itself`);
  if (includeDotfiles || !isHiddenPath(path)) return;
  throw new VfsError(
    400,
    "hidden_path",
    `${path} is a dotfile or inside a dot-folder; those are not published (only /.well-known/ is) unless the site includes dotfiles`,
  );
}
