// A worker thread that makes the provider's send calls for the outbox
// (provider.ts): the SDK's request, JSON encoding and decoding run here, off
// the event loop that serves sites, each at the time its slot in the pace
// says. Pacing, classifying answers and recording them stay on the main
// thread; answers go back in batches. The thread runs at a lower priority (nice 10)
// so that on a one-core host a request to a site is not kept waiting by mail.
import { readlinkSync } from "node:fs";
import { setPriority } from "node:os";
import { Resend } from "resend";
import type { SendAnswer, SendCall } from "./provider.ts";
import { answerCalls } from "./thread.ts";

const NICE = 10;

function lowerPriority(): void {
  try {
    // Linux: a thread's nice value is set through its own id ("PID/task/TID").
    setPriority(Number(readlinkSync("/proc/thread-self").split("/").pop()), NICE);
  } catch {
    // Not Linux, or not allowed: the thread runs at the server's priority.
  }
}

let client: { key: string; baseUrl: string | undefined; resend: Resend } | null = null;

function resendFor(key: string, baseUrl: string | undefined): Resend {
  if (client?.key !== key || client.baseUrl !== baseUrl) client = { key, baseUrl, resend: new Resend(key, { baseUrl }) };
  return client.resend;
}

async function send(call: SendCall): Promise<SendAnswer> {
  const wait = call.startAt - Date.now();
  if (wait > 0) await Bun.sleep(wait);
  try {
    const { data, error, headers } = await resendFor(call.apiKey, call.baseUrl).emails.send(JSON.parse(call.message), {
      idempotencyKey: call.idempotencyKey,
      signal: AbortSignal.timeout(call.timeoutMs),
    });
    return { data, error, headers };
  } catch (err) {
    // The SDK rethrows an abort of our own timeout signal.
    return { thrown: (err as Error).message };
  }
}

/** Answers finishing this close together go back to the main thread as one message (recorded a tick later anyway). */
const COALESCE_MS = 10;

lowerPriority();
answerCalls(send, COALESCE_MS);
