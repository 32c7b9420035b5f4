// The HTTPS listener. Bun 1.4 cannot change a running server's certificates
// (server.reload ignores `tls`) and has no SNI callback, so a new certificate
// set goes live by starting a second Bun.serve on the same port (SO_REUSEPORT)
// and then draining the old one: in-flight requests finish, idle keep-alive
// connections are closed and clients reconnect to the new one.
import type { Server } from "bun";
import type { ListenAddress } from "../core/config.ts";
import type { TlsEntry } from "./manager.ts";
import { drain } from "../http/drain.ts";
import { log } from "../log/index.ts";
import type { Fetch } from "../http/fetch.ts";

const RETIRE_GRACE_MS = 300;

function closing(res: Response): Response {
  try {
    res.headers.set("connection", "close");
    return res;
  } catch {
    // immutable headers (e.g. Response.redirect): copy
    const copy = new Response(res.body, res);
    copy.headers.set("connection", "close");
    return copy;
  }
}

/** Server names whose certificate was added, replaced or removed. */
function changedNames(before: TlsEntry[], after: TlsEntry[]): string[] {
  const key = (es: TlsEntry[]) => new Map(es.filter((e) => e.serverName).map((e) => [e.serverName!, e.cert]));
  const a = key(before);
  const b = key(after);
  return [...new Set([...a.keys(), ...b.keys()])].filter((n) => a.get(n) !== b.get(n)).sort();
}

export interface ListenerOptions {
  error: (err: Error) => Response;
  maxRequestBodySize: number;
}

export class TlsListener {
  private server: Server<undefined> | null = null;
  private swapping: Promise<void> = Promise.resolve();
  private retiring = new Set<Server<undefined>>();
  private pending: TlsEntry[] | null = null;
  private entries: TlsEntry[] = [];
  private stopped = false;
  port = 0;

  constructor(
    private readonly address: ListenAddress,
    private readonly fetch: Fetch,
    private readonly opts: ListenerOptions,
  ) {}

  /** Requests being answered by this listener (and by a retiring one). */
  get pendingRequests(): number {
    let n = this.server?.pendingRequests ?? 0;
    for (const old of this.retiring) n += old.pendingRequests;
    return n;
  }

  /** Bind the port. SO_REUSEPORT would let a second fazt share it silently: check it is free first. */
  start(entries: TlsEntry[]): void {
    const probe = Bun.listen({ hostname: this.address.hostname, port: this.address.port, socket: { data() {} } });
    const port = probe.port;
    probe.stop(true);
    this.server = this.serve(entries, port);
    this.entries = entries;
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
        const changed = changedNames(this.entries, next);
        if (changed.length === 0) return;
        const old = this.server;
        try {
          this.server = this.serve(next, this.port);
        } catch (err) {
          log.error("tls listener swap failed; serving the previous certificates", { err: err as Error, changed });
          return;
        }
        this.entries = next;
        await this.retire(old);
        // Only now does every new connection get the new set.
        log.info("tls listener swapped", { certificates: next.length - 1, changed });
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

  /**
   * Stop the old listener without failing a request. Bun's stop() closes idle
   * keep-alive connections at once, racing requests already on the wire
   * (measured: every busy connection lost one request per swap). So first,
   * while both listen, the old one answers with `Connection: close` and busy
   * clients reconnect (to either; new connections to the old one get one
   * answer too); only then does it stop and drain. Measured under wrk: no
   * failed request. Clients idle through the grace period see a closed idle
   * connection, which HTTP clients retry.
   */
  private async retire(old: Server<undefined>): Promise<void> {
    this.retiring.add(old);
    await Bun.sleep(RETIRE_GRACE_MS);
    await drain(old);
    this.retiring.delete(old);
  }

  private serve(tls: TlsEntry[], port: number): Server<undefined> {
    const inner = this.fetch;
    const retiring = this.retiring;
    return Bun.serve({
      hostname: this.address.hostname,
      port,
      reusePort: true,
      tls,
      fetch(req, server) {
        if (!retiring.has(server)) return inner(req, server);
        const res = inner(req, server);
        return res instanceof Promise ? res.then(closing) : closing(res);
      },
      error: this.opts.error,
      maxRequestBodySize: this.opts.maxRequestBodySize,
    });
  }
}
