// The Content-Type stored with each file of a deploy.
import mime from "mime";

const UTF8_TYPES = new Set(["application/javascript", "application/json", "application/xml", "image/svg+xml", "application/manifest+json"]);

export function mimeFor(path: string): string {
  const type = mime.getType(path) ?? "application/octet-stream";
  return type.startsWith("text/") || UTF8_TYPES.has(type) ? `${type}; charset=utf-8` : type;
}
