// Graceful stop of one Bun server: stop accepting, let in-flight requests
// finish (bounded), then close idle keep-alive connections.
import type { Server } from "bun";

const SHUTDOWN_GRACE_MS = 10_000;

export async function drain(server: Server<undefined>, graceMs = SHUTDOWN_GRACE_MS): Promise<void> {
  void server.stop(false);
  const deadline = Date.now() + graceMs;
  while (server.pendingRequests > 0 && Date.now() < deadline) await Bun.sleep(10);
  await server.stop(true);
}
