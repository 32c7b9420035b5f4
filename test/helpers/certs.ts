// Self-signed P-256 certificates made with the real openssl (tests and benches).

/** Write a self-signed certificate and its key; throws with openssl's error when it fails. */
export function selfSigned(opts: { cert: string; key: string; cn: string; days: number; altNames?: string }): void {
  const cmd = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  cmd.push("-keyout", opts.key, "-out", opts.cert, "-days", String(opts.days), "-subj", `/CN=${opts.cn}`);
  if (opts.altNames) cmd.push("-addext", `subjectAltName=${opts.altNames}`);
  const r = Bun.spawnSync(cmd, { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`openssl req failed: ${r.stderr.toString()}`);
}
