// Hostile `_redirects` / `_headers` files and request paths (issue 10, items
// 2, 3, 5, 6 and 10), as generator code so sizes are exact and reviewable.
// Each refused file names the status, error code and line the deploy must answer.

export interface RefusedRules {
  name: string;
  files: Record<string, string>;
  code: string;
  /** The line the message must name ("_redirects line N"), when there is one. */
  line?: number;
}

export const HOP_BY_HOP = [
  ...["Connection", "Upgrade", "Keep-Alive", "Trailer", "Transfer-Encoding", "Proxy-Connection", "TE"],
  ...["Date", "Content-Length"],
];

/** `count` redirect lines of about 35 bytes each. */
export function manyRedirects(count: number): string {
  let out = "";
  for (let i = 0; i < count; i++) out += `/old/page-${i} /new/page-${i} 301\n`;
  return out;
}

const hopByHop = (name: string) => ({ "/_headers": `/*\n  X-Ok: 1\n  ${name}: x\n` });
const cookie = (attrs: string) => ({ "/_headers": `/*\n  Set-Cookie: s=1; ${attrs}\n` });

export const refusedAtDeploy: RefusedRules[] = [
  {
    name: "backtracking splats /*a*a*…*b",
    files: { "/_redirects": "/ok /x\n/*a*a*a*a*a*a*a*a*a*a*a*a*b /x 302\n" },
    code: "invalid_rules",
    line: 2,
  },
  { name: "two splats in a segment of _headers", files: { "/_headers": "/*x*\n  X-A: 1\n" }, code: "invalid_rules", line: 1 },
  { name: "placeholder inside a segment", files: { "/_redirects": "/:slug.html /x\n" }, code: "invalid_rules", line: 1 },
  { name: "200k-line _redirects (7 MB)", files: { "/_redirects": manyRedirects(200_000) }, code: "rules_file_too_large" },
  { name: "10,001 rules", files: { "/_redirects": manyRedirects(10_001) }, code: "too_many_rules", line: 10_001 },
  {
    name: "1,001 dynamic rules",
    files: { "/_redirects": Array.from({ length: 1001 }, (_, i) => `/d${i}/* /x/:splat`).join("\n") },
    code: "too_many_rules",
    line: 1001,
  },
  { name: "3,000-character line", files: { "/_redirects": `/a /b\n/${"x".repeat(3000)} /y\n` }, code: "rules_line_too_long", line: 2 },
  {
    name: "65 headers for one path",
    files: { "/_headers": `/*\n${Array.from({ length: 65 }, (_, i) => `  X-H${i}: v\n`).join("")}` },
    code: "too_many_rules",
    line: 66,
  },
  ...HOP_BY_HOP.map((h) => ({ name: `${h} in _headers`, files: hopByHop(h), code: "invalid_rules", line: 3 })),
  { name: "non-Latin-1 header value", files: { "/_headers": "/*\n  X-A: €\n" }, code: "invalid_rules", line: 2 },
  { name: "control character in a header value", files: { "/_headers": "/*\n  X-A: a\u0001b\n" }, code: "invalid_rules", line: 2 },
  { name: "header name that is not a token", files: { "/_headers": "/*\n  X(A): 1\n" }, code: "invalid_rules", line: 2 },
  { name: "cookie for the parent domain", files: cookie("Path=/; Domain=localhost"), code: "invalid_rules", line: 2 },
  { name: "cookie for another site", files: cookie("Domain=victim.localhost"), code: "invalid_rules", line: 2 },
  { name: "control character in a redirect target", files: { "/_redirects": "/a /b\u0007c\n" }, code: "invalid_rules", line: 1 },
];

/**
 * The most a deploy may hold: 10,000 rules, 1,000 of them dynamic, of every
 * shape (literal, placeholder, one-segment globs, splats, query conditions), under 1 MiB.
 */
export function maxRules(): string {
  const lines: string[] = [];
  for (let i = 0; i < 200; i++) {
    lines.push(`/p${i}/:a/:b /q/:a/:b 302`);
    lines.push(`/*/*/*/y${i} /z/:splat 302`);
    lines.push(`/g${i}*/x*/*.html /h/:splat 302`);
    lines.push(`/s${i}/* /t/:splat 302`);
    lines.push(`/d${i}/:x /e/:x 302`);
    lines.push(`/q${i} id=:id /r/:id 302`);
  }
  for (let i = 0; lines.length < 10_000; i++) lines.push(`/old/page-${i} /new/${i} 301`);
  return `${lines.join("\n")}\n`;
}

/** Rules that backtracked with the old RegExp compiler; still legal, now linear. */
export const formerlyBacktracking = `${["/*/*/*/y /found 302", "/*a/*a/*a/*a/*b /found 302", "/x/* /x-rest/:splat 302"].join("\n")}\n`;

/** A deterministic pseudo-random source (xorshift32), so a failing run can be replayed. */
export function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-._~%";

function word(r: () => number, len: number): string {
  let s = "";
  for (let i = 0; i < len; i++) s += ALPHABET[Math.floor(r() * ALPHABET.length)];
  return s;
}

/** A hostile request target: long or deep paths, junk escapes, long queries; sometimes past the path limits. */
export function hostileTarget(r: () => number): string {
  const kind = Math.floor(r() * 6);
  let path: string;
  if (kind === 0)
    path = `/${word(r, 1000 + Math.floor(r() * 7000))}`; // one long segment
  else if (kind === 1)
    path = `/x${"/a".repeat(1 + Math.floor(r() * 300))}`; // deep (some past 256 segments)
  else if (kind === 2) path = Array.from({ length: 1 + Math.floor(r() * 250) }, () => `/${word(r, 1 + Math.floor(r() * 30))}`).join("");
  else if (kind === 3)
    path = `/${"%2F".repeat(Math.floor(r() * 400))}${word(r, 8)}`; // encoded slashes
  else if (kind === 4)
    path = `/s1/${word(r, 2000 + Math.floor(r() * 6000))}`; // a splat rule's arbitrary capture
  else path = `/${word(r, 9000)}`; // past the length limit
  const query = r() < 0.5 ? "" : `?${word(r, Math.floor(r() * 8000)).replace(/%/g, "=")}`;
  return path + query;
}
