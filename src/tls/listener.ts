// The HTTPS listener. Bun 1.4 cannot change a running server's certificates
// (server.reload ignores `tls`) and has no SNI callback, so a new certificate
// set goes live by starting a second Bun.serve on the same port (SO_REUSEPORT)
// and then draining the old one: in-flight requests finish, idle keep-alive
// connections are closed and clients reconnect to the new one.
import type { Server } from "bun";
import type { ListenAddress } from "../core/config.ts";
import type { TlsEntry } from "./manager.ts";
import { drain } from "../server/drain.ts";

type Fetch = (req: Request, server: Server<undefined>) => Response | Promise<Response>;

export interface ListenerOptions {
  error: (err: Error) => Response;
  maxRequestBodySize: number;
}

export class TlsListener {
  private server: Server<undefined> | null = null;
  private swapping: Promise<void> = Promise.resolve();
  private pending: TlsEntry[] | null = null;
  private stopped = false;
  port = 0;

  constructor(
    private readonly address: ListenAddress,
    private readonly fetch: Fetch,
    private readonly opts: ListenerOptions,
  ) {}

  /** Bind the port. SO_REUSEPORT would let a second fazt share it silently: check it is free first. */
  start(entries: TlsEntry[]): void {
    const probe = Bun.listen({ hostname: this.address.hostname, port: this.address.port, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    this.server = this.serve(entries, port);
    this.port = this.server.port ?? port;
  }

  /** Serve a new certificate set. Calls coalesce: at most one swap runs, the latest set wins. */
  update(entries: TlsEntry[]): Promise<void> {
    const first = this.pending === null;
    this.pending = entries;
    if (first) {
      this.swapping = this.swapping.then(async () => {
        const next = this.pending!;
        this.pending = null;
        if (this.stopped || !this.server) return;
        const old = this.server;
        this.server = this.serve(next, this.port);
        await drain(old);
      });
    }
    return this.swapping;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.swapping.catch(() => {});
    if (this.server) await drain(this.server);
    this.server = null;
  }

  private serve(tls: TlsEntry[], port: number): Server<undefined> {
    return Bun.serve({
      hostname: this.address.hostname,
      port,
      reusePort: true,
      tls,
      fetch: this.fetch,
      error: this.opts.error,
      maxRequestBodySize: this.opts.maxRequestBodySize,
    });
  }
}
