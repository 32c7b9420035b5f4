// The client address of a request, one rule for every consumer (analytics,
// the API's rate limits): the peer address, or with --trust-proxy the last
// X-Forwarded-For hop (the one our own proxy added; earlier hops are the
// client's word). The peer address is looked up only when needed:
// `server.requestIP` is a getpeername syscall per call (~1 us under load).

/** What clientAddress needs of a Bun server. */
export interface PeerLookup {
  requestIP(req: Request): { address: string } | null;
}

/** The client's address, or "unknown" when the connection has none (already closed). */
export function clientAddress(req: Request, server: PeerLookup, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = forwardedClient(req);
    if (forwarded !== null) return forwarded;
  }
  return server.requestIP(req)?.address ?? "unknown";
}

/** The last X-Forwarded-For hop, or null when absent or empty. */
export function forwardedClient(req: Request): string | null {
  const xff = req.headers.get("x-forwarded-for");
  if (!xff) return null;
  return xff.slice(xff.lastIndexOf(",") + 1).trim() || null;
}
