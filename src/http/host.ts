// Host header normalisation: lower case, no port, no trailing dot.
export function normalizeHost(raw: string | null): string {
  if (!raw) return "";
  let h = raw;
  if (h.charCodeAt(0) === 91 /* [ */) {
    const end = h.indexOf("]");
    return end > 0 ? h.slice(0, end + 1).toLowerCase() : "";
  }
  const colon = h.indexOf(":");
  if (colon >= 0) h = h.slice(0, colon);
  if (h.endsWith(".")) h = h.slice(0, -1);
  return h.toLowerCase();
}

export const LOCAL_ADMIN_HOSTS = new Set(["localhost", "127.0.0.1", "[::1]"]);
