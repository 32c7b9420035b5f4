#!/usr/bin/env bun
// HTTPS serving of one small page: fazt (its TLS listener with its default
// ECDSA P-256 certificate) against nginx and Caddy (an ECDSA P-256
// certificate made by openssl), each on one core's worth of workers. Two
// loads: keep-alive (TLS set up once per connection) and one request per
// connection (a full handshake each time).
//
// With `Connection: close`, wrk counts a read error for every connection Bun
// closes after its response (plain HTTP too, measured): those requests did get
// their 200; compare req/s, and read errors only for the keep-alive runs.
//
//   bun bench/https-peers.ts [--seconds 10] [--connections 32] [--binary]
//
// Needs wrk, openssl, nginx (nginx-light) and caddy from Debian.
import { parseArgs } from "node:util";
import { selfSigned } from "../test/helpers/certs.ts";
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { startFazt, tempDir, cleanup } from "../test/helpers/fazt.ts";
import { freePort, seedSite } from "../test/helpers/pebble.ts";
import { wrk, type WrkResult } from "../test/helpers/wrk.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "10" },
    connections: { type: "string", default: "32" },
    binary: { type: "boolean", default: false },
  },
});
const seconds = Number(values.seconds);
const connections = Number(values.connections);

const PAGE = "<!doctype html><title>hello</title><h1>hello from the bench</h1>\n";
const dir = tempDir("fazt-https-peers-");
const www = join(dir, "www");
mkdirSync(www);
writeFileSync(join(www, "index.html"), PAGE);
const cert = join(dir, "cert.pem");
const key = join(dir, "key.pem");
selfSigned({ cert, key, cn: "bench.localhost", days: 2 });

async function waitTls(port: number): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const r = await fetch(`https://127.0.0.1:${port}/`, { tls: { rejectUnauthorized: false }, headers: { host: "blog.localhost" } });
      if (r.ok && (await r.text()) === PAGE) return;
    } catch {
      // not up yet
    }
    await Bun.sleep(50);
  }
  throw new Error(`nothing serves the page on ${port}`);
}

function spawn(cmd: string[], env: Record<string, string> = {}): Subprocess {
  return Bun.spawn(cmd, { env: { ...process.env, ...env } as Record<string, string>, stdout: "ignore", stderr: "pipe" });
}

async function measure(label: string, port: number): Promise<void> {
  const url = `https://127.0.0.1:${port}/`;
  const base = { seconds, connections, threads: 2, headers: { Host: "blog.localhost" } };
  const line = (mode: string, r: WrkResult) =>
    console.log(
      `${label.padEnd(8)} ${mode.padEnd(11)} ${r.rps.toFixed(0).padStart(8)} req/s  errors: connect ${r.connectErrors} read ${r.readErrors} ` +
        `write ${r.writeErrors} timeout ${r.timeouts} non-2xx ${r.non2xx3xx}`,
    );
  line("keep-alive", await wrk(url, base));
  line("handshakes", await wrk(url, { ...base, headers: { ...base.headers, Connection: "close" } }));
}

const procs: Subprocess[] = [];
try {
  console.log(`wrk -t2 -c${connections} -d${seconds}s, HTTPS, ${PAGE.length}-byte page; noisy when other work shares the CPUs`);

  // fazt: a site at blog.localhost (no ACME order for *.localhost), served on the TLS listener.
  const db = join(dir, "fazt.db");
  seedSite(db, "blog", [], PAGE);
  const httpsPort = freePort();
  const f = await startFazt({ dir, db, binary: values.binary, args: ["--https", `127.0.0.1:${httpsPort}`] });
  try {
    await waitTls(httpsPort);
    await measure(values.binary ? "fazt bin" : "fazt", httpsPort);
  } finally {
    await f.stop();
  }

  // nginx, one worker.
  const nginxPort = freePort();
  const conf = join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `worker_processes 1; daemon off; pid ${dir}/nginx.pid; error_log ${dir}/nginx-error.log;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${nginxPort} ssl; ssl_certificate ${cert}; ssl_certificate_key ${key}; root ${www}; } }\n`,
  );
  const nginx = spawn(["nginx", "-c", conf, "-p", dir]);
  procs.push(nginx);
  await waitTls(nginxPort);
  await measure("nginx", nginxPort);
  nginx.kill();
  await nginx.exited;

  // Caddy, GOMAXPROCS=1.
  const caddyPort = freePort();
  const caddyfile = join(dir, "Caddyfile");
  writeFileSync(
    caddyfile,
    `{\n  admin off\n  auto_https off\n}\nhttps://:${caddyPort} {\n  bind 127.0.0.1\n  tls ${cert} ${key}\n  root * ${www}\n  file_server\n}\n`,
  );
  const caddy = spawn(["caddy", "run", "--config", caddyfile, "--adapter", "caddyfile"], {
    GOMAXPROCS: "1",
    XDG_DATA_HOME: join(dir, "xdg-data"),
    XDG_CONFIG_HOME: join(dir, "xdg-config"),
    HOME: dir,
  });
  procs.push(caddy);
  await waitTls(caddyPort);
  await measure("caddy", caddyPort);
} finally {
  for (const p of procs) p.kill();
  await Promise.all(procs.map((p) => p.exited));
  cleanup(dir);
}
