// Running wrk and reading its summary.
export interface WrkResult {
  requests: number;
  rps: number;
  connectErrors: number;
  readErrors: number;
  writeErrors: number;
  timeouts: number;
  non2xx3xx: number;
  raw: string;
}

export function parseWrk(out: string): WrkResult {
  const num = (re: RegExp) => Number(re.exec(out)?.[1] ?? 0);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  return {
    requests: num(/(\d+) requests in/),
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    connectErrors: Number(sock?.[1] ?? 0),
    readErrors: Number(sock?.[2] ?? 0),
    writeErrors: Number(sock?.[3] ?? 0),
    timeouts: Number(sock?.[4] ?? 0),
    non2xx3xx: num(/Non-2xx or 3xx responses: (\d+)/),
    raw: out,
  };
}

/** Start wrk; resolves with its parsed summary when it ends. */
export function wrk(
  url: string,
  opts: { seconds: number; connections: number; threads?: number; headers?: Record<string, string> },
): Promise<WrkResult> {
  const args = ["wrk", `-t${opts.threads ?? 1}`, `-c${opts.connections}`, `-d${opts.seconds}s`, "--timeout", "5s"];
  for (const [k, v] of Object.entries(opts.headers ?? {})) args.push("-H", `${k}: ${v}`);
  const p = Bun.spawn([...args, url], { stdout: "pipe", stderr: "pipe" });
  return (async () => {
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    if (code !== 0) throw new Error(`wrk failed (${code}): ${err}`);
    return parseWrk(out);
  })();
}
