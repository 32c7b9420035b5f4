#!/usr/bin/env bun
// "bun floor" for bench/serve.ts: the least a Bun.serve JS handler can do to
// answer like fazt. Each path's answer is a Response built once (the same
// bytes and the same headers fazt sent for it, read from a JSON file) and
// cloned per request, with a ready 304 (fazt's 304 headers) for a matching
// If-None-Match. No
// host routing, no cache, no metrics: what fazt's hot path costs on top of
// this is what fazt could still shave off.
//
//   bun bench/floor-server.ts SPEC.json
//
// SPEC.json: {"port": N, "files": {"/path": {"file": "/abs/file", "headers": {...}, "notModified": {...}}}}
import { readFileSync } from "node:fs";

interface Spec {
  port: number;
  files: Record<string, { file: string; headers: Record<string, string>; notModified: Record<string, string> }>;
}

const spec = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as Spec;
const answers = new Map<string, { etag: string; ok: Response; notModified: Response }>();
const withoutDate = ({ date: _d, ...rest }: Record<string, string>) => rest; // Bun adds its own
for (const [path, { file, headers, notModified }] of Object.entries(spec.files)) {
  answers.set(path, {
    etag: headers.etag!,
    ok: new Response(readFileSync(file), { headers: withoutDate(headers) }),
    notModified: new Response(null, { status: 304, headers: withoutDate(notModified) }),
  });
}
const NOT_FOUND = new Response("not found\n", { status: 404 });

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: spec.port,
  fetch(req) {
    const url = req.url;
    const start = url.indexOf("/", url.indexOf("//") + 2);
    const answer = answers.get(url.slice(start));
    if (answer === undefined) return NOT_FOUND.clone() as Response;
    return req.headers.get("if-none-match") === answer.etag ? (answer.notModified.clone() as Response) : (answer.ok.clone() as Response);
  },
});
console.log(`bun floor listening on ${server.port}`);
