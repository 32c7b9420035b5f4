// The access log (--access-log): one JSON line per request on stderr. The
// request path only appends a small record; a timer turns records into lines
// and writes them in one batch. Held records are bounded by estimated bytes:
// past the bound (a flood, or a stderr reader that stopped reading) records
// are dropped and counted, never buffered without limit.

interface AccessRecord {
  /** Date.now() when the request arrived. */
  time: number;
  host: string;
  method: string;
  /** Path and query as requested. */
  path: string;
  status: number;
  bytes: number;
  /** Milliseconds until the response was ready (its body may stream for longer). */
  duration: number;
  client: string;
}

interface AccessLogOptions {
  /** Most estimated bytes held before records are dropped. */
  maxBytes?: number;
  flushMs?: number;
  /** Where lines go; returns false when the sink wants us to wait for onDrain. */
  write?: (text: string) => boolean;
  onDrain?: (fn: () => void) => void;
}

const RECORD_OVERHEAD = 160; // the fixed fields of a line, and the object holding them
const MAX_FIELD = 2048; // longer hosts and paths are cut (hostile requests)

export class AccessLog {
  private held: AccessRecord[] = [];
  private heldBytes = 0;
  private waiting = false; // the sink asked us to wait for its drain
  private readonly timer: ReturnType<typeof setInterval>;
  private readonly maxBytes: number;
  private readonly write: (text: string) => boolean;
  private readonly onDrain: (fn: () => void) => void;
  /** Records dropped because the buffer was full. */
  dropped = 0;
  /** Lines written. */
  written = 0;

  constructor(opts: AccessLogOptions = {}) {
    this.maxBytes = opts.maxBytes ?? 4 * 1024 * 1024;
    this.write = opts.write ?? ((text) => process.stderr.write(text));
    this.onDrain = opts.onDrain ?? ((fn) => process.stderr.once("drain", fn));
    this.timer = setInterval(() => this.flush(), opts.flushMs ?? 200);
    this.timer.unref();
  }

  /** On the request path: keep the record if it fits (O(1), no formatting). */
  record(r: AccessRecord): void {
    const size = RECORD_OVERHEAD + r.host.length + r.method.length + r.path.length + r.client.length;
    if (this.heldBytes + size > this.maxBytes) {
      this.dropped++;
      return;
    }
    this.heldBytes += size;
    this.held.push(r);
  }

  /** Estimated bytes held now. */
  get bufferedBytes(): number {
    return this.heldBytes;
  }

  /** Format and write everything held, as one write. */
  flush(): void {
    if (this.waiting || this.held.length === 0) return;
    const batch = this.held;
    this.held = [];
    this.heldBytes = 0;
    let text = "";
    for (const r of batch) text += formatLine(r);
    this.written += batch.length;
    if (!this.write(text)) {
      this.waiting = true;
      this.onDrain(() => {
        this.waiting = false;
      });
    }
  }

  /** Write what is held and stop the timer (at shutdown). */
  stop(): void {
    clearInterval(this.timer);
    this.waiting = false;
    this.flush();
  }
}

function cut(s: string): string {
  return s.length > MAX_FIELD ? `${s.slice(0, MAX_FIELD)}...` : s;
}

function formatLine(r: AccessRecord): string {
  return `${JSON.stringify({
    time: new Date(r.time).toISOString(),
    host: cut(r.host),
    method: cut(r.method),
    path: cut(r.path),
    status: r.status,
    bytes: r.bytes,
    duration_ms: Math.round(r.duration * 1000) / 1000,
    client: r.client,
  })}\n`;
}
