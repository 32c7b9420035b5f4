// The client address of a request: one function for every layer (rate limits,
// analytics, logs). Behind a trusted proxy it is the last X-Forwarded-For hop
// (the one our own proxy added; earlier hops are the client's word). Else the
// peer address: `server.requestIP` is a getpeername syscall per call (~1 us
// under load), so callers look it up only when they need it.
import type { Server } from "bun";

/** What clientAddress needs of a Bun server. */
export type PeerLookup = Pick<Server<undefined>, "requestIP">;

export function forwardedClient(req: Request): string | null {
  const xff = req.headers.get("x-forwarded-for");
  if (!xff) return null;
  return xff.slice(xff.lastIndexOf(",") + 1).trim() || null;
}

export function clientAddress(req: Request, server: PeerLookup, trustProxy: boolean): string {
  return (trustProxy ? forwardedClient(req) : null) ?? server.requestIP(req)?.address ?? "unknown";
}

// The API sees only the Request (Elysia's handle), so the listener attaches the
// address to it once; this pair is the only way to set and read it.
const CLIENT = Symbol("fazt.client");
type WithClient = Request & { [CLIENT]?: string };

export function attachClient(req: Request, address: string): void {
  (req as WithClient)[CLIENT] = address;
}

export function attachedClient(req: Request): string {
  return (req as WithClient)[CLIENT] ?? "unknown";
}
