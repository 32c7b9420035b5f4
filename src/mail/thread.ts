// A worker thread answering calls: work that would hold the event loop
// (sanitising a large mail, the provider's HTTP calls and JSON) runs there.
// Started on first use; a worker that fails (to start, or later) rejects
// every call waiting on it, and the next call starts a new one. Calls made in
// one turn of the event loop cross to the worker in one message, and answers
// come back in batches, so a busy outbox wakes the event loop per batch, not
// per mail.

/**
 * The entry file of a worker in this folder. In the compiled binary each
 * worker is its own entry point under /$bunfs/root/ (see build.ts); from
 * sources it sits beside this file. The binary is told by Bun.main: a minified
 * build keeps import.meta.path as the build machine's source path.
 */
export function workerEntry(file: string): string {
  return Bun.main.startsWith("/$bunfs/") ? `/$bunfs/root/mail/${file}` : new URL(`./${file}`, import.meta.url).href;
}

/** What crosses between the threads: calls' numbers with their requests or answers. */
interface Envelope<T> {
  id: number;
  body: T;
}

export class WorkerThread<Req, Res> {
  private worker: Worker | null = null;
  private nextId = 0;
  private outgoing: Envelope<Req>[] = [];
  private readonly waiting = new Map<number, { resolve: (r: Res) => void; reject: (e: Error) => void }>();

  constructor(
    private readonly entry: string,
    /** What the worker does, for errors ("the HTML sanitiser"). */
    private readonly what: string,
  ) {}

  /** The worker's answer; rejected if the worker fails, stops, or (with `timeoutMs`) takes longer. */
  call(body: Req, timeoutMs?: number): Promise<Res> {
    const id = this.nextId++;
    const answer = new Promise<Res>((resolve, reject) => {
      if (timeoutMs === undefined) return this.waiting.set(id, { resolve, reject });
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${this.what} did not answer in ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiting.set(id, {
        resolve: (r) => (clearTimeout(timer), resolve(r)),
        reject: (e) => (clearTimeout(timer), reject(e)),
      });
    });
    if (this.outgoing.push({ id, body }) === 1) queueMicrotask(() => this.flush());
    return answer;
  }

  /** Ends the worker; calls still waiting are rejected. */
  stop(reason = `${this.what} stopped`): void {
    this.worker?.terminate();
    this.worker = null;
    this.outgoing = [];
    for (const w of this.waiting.values()) w.reject(new Error(reason));
    this.waiting.clear();
  }

  private flush(): void {
    const batch = this.outgoing;
    this.outgoing = [];
    if (batch.length > 0) this.start().postMessage(batch);
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(this.entry);
    w.onmessage = (e: MessageEvent<Envelope<Res>[]>) => {
      for (const { id, body } of e.data) {
        this.waiting.get(id)?.resolve(body);
        this.waiting.delete(id);
      }
    };
    w.onerror = (e) => this.stop(`${this.what} failed: ${e.message}`);
    w.unref();
    this.worker = w;
    return w;
  }
}

/**
 * The worker's side: answers each call with `handle` (which must not throw),
 * posting answers that finish within `coalesceMs` of each other together.
 */
export function answerCalls<Req, Res>(handle: (req: Req) => Res | Promise<Res>, coalesceMs = 0): void {
  const self = globalThis as unknown as Worker;
  let answers: Envelope<Res>[] = [];
  const post = () => {
    self.postMessage(answers);
    answers = [];
  };
  self.onmessage = (e: MessageEvent<Envelope<Req>[]>) => {
    for (const { id, body } of e.data) {
      void Promise.resolve(handle(body)).then((answer) => {
        if (answers.push({ id, body: answer }) === 1) setTimeout(post, coalesceMs);
      });
    }
  };
}
