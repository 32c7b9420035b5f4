import type { Server } from "bun";

/** A Bun.serve fetch handler: what every layer of the request path composes. */
export type Fetch = (req: Request, server: Server<undefined>) => Response | Promise<Response>;
