// A small HTTP client for the CLI's client commands: --server/FAZT_SERVER and
// --token/FAZT_TOKEN, JSON in and out, API errors turned into one-line failures.
import type { FlagSpec, ParsedArgs } from "./command.ts";
import { str, UsageError } from "./command.ts";

export const clientFlags: Record<string, FlagSpec> = {
  server: { type: "string", description: "the Fazt server's admin URL", default: "http://localhost:8080" },
  token: { type: "string", description: "API token" },
};

export interface ApiClient {
  get<T>(path: string): Promise<T>;
}

export function apiClient(args: ParsedArgs): ApiClient {
  const server = str(args, "server")!.replace(/\/+$/, "");
  const token = str(args, "token");
  if (!token) throw new UsageError("missing --token (or FAZT_TOKEN)");
  if (!/^https?:\/\/[^/]+$/.test(server)) throw new UsageError(`--server: expected http(s)://HOST[:PORT], got "${server}"`);
  return {
    async get<T>(path: string): Promise<T> {
      let res: Response;
      try {
        res = await fetch(server + path, { headers: { authorization: `Bearer ${token}`, accept: "application/json" } });
      } catch (err) {
        throw new Error(`cannot reach ${server}: ${(err as Error).message}`);
      }
      const body = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      if (!res.ok) throw new Error(body?.error?.message ?? `${server}${path}: HTTP ${res.status}`);
      return body as T;
    },
  };
}
