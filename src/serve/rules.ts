// Matching a request path against a deploy's `_redirects` and `_headers`
// (parsed and validated at deploy time by src/vfs/rules.ts). Rules are
// compiled once per deploy into a tree of path segments: a request walks it
// segment by segment, so the cost is linear in the path and does not grow
// with the number of rules that cannot match (no regular expressions, no
// backtracking, no scan of every rule).
import { isVisibleAscii, parsePattern, type HeaderRule, type PatternSegment, type RedirectRule, type SiteRules } from "../vfs/rules.ts";
import { headerProblem } from "../http/headers.ts";

export type Params = Map<string, string>;

/** A decoded request path split into segments (trailing slash ignored), with where each starts. */
export interface SplitPath {
  path: string;
  segments: string[];
  starts: number[];
}

export function splitPath(path: string): SplitPath {
  const p = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
  const segments: string[] = [];
  const starts: number[] = [];
  if (p !== "/") {
    let from = 1;
    for (;;) {
      const slash = p.indexOf("/", from);
      starts.push(from);
      segments.push(slash < 0 ? p.slice(from) : p.slice(from, slash));
      if (slash < 0) break;
      from = slash + 1;
    }
  }
  return { path: p, segments, starts };
}

interface Glob {
  prefix: string;
  suffix: string;
  node: Node;
}

interface Rest {
  prefix: string;
  suffix: string;
  rules: number[];
}

interface Node {
  literal: Map<string, Node> | null;
  param: Node | null;
  /** One-segment globs, by "prefix*suffix" (their count is bounded at deploy: the dynamic rules limit). */
  globs: Map<string, Glob> | null;
  /** Rules whose pattern ends here. */
  ends: number[];
  /** Rules whose pattern ends here with a splat: "prefix*suffix" matches the rest of the path, slashes included. */
  rests: Map<string, Rest> | null;
}

function newNode(): Node {
  return { literal: null, param: null, globs: null, ends: [], rests: null };
}

/** Patterns in rule order, indexed by a segment tree; a lookup returns every matching rule in order. */
export class PatternIndex {
  private readonly root = newNode();
  readonly patterns: (PatternSegment[] | null)[] = [];

  /** Add a pattern; an invalid one (refused at deploy, or stored by an older version) never matches. */
  add(pattern: string): void {
    const parsed = parsePattern(pattern);
    const segments = typeof parsed === "string" ? null : parsed;
    const index = this.patterns.push(segments) - 1;
    if (segments) insert(this.root, segments, index);
  }

  /** The indexes of the patterns matching the path, in ascending order. */
  lookup(p: SplitPath): number[] {
    const segs = p.segments;
    const out: number[] = [];
    let active = [this.root];
    for (let d = 0; ; d++) {
      const seg = segs[d];
      for (const node of active) {
        for (const rest of node.rests?.values() ?? []) if (restMatches(rest, p, d)) append(out, rest.rules);
        if (seg === undefined) append(out, node.ends);
      }
      if (seg === undefined) break;
      const next: Node[] = [];
      for (const node of active) {
        const lit = node.literal?.get(seg);
        if (lit) next.push(lit);
        if (node.param && seg !== "") next.push(node.param);
        if (node.globs) {
          for (const g of node.globs.values()) {
            if (seg.length >= g.prefix.length + g.suffix.length && seg.startsWith(g.prefix) && seg.endsWith(g.suffix)) next.push(g.node);
          }
        }
      }
      if (next.length === 0) break;
      active = next;
    }
    return out.length > 1 ? out.sort((a, b) => a - b) : out;
  }

  /** The placeholders and splat of a pattern that matches the path (as lookup said). */
  params(index: number, p: SplitPath): Params {
    const params: Params = new Map();
    const segments = this.patterns[index]!;
    segments.forEach((s, d) => {
      const seg = p.segments[d];
      if (s.kind === "param") params.set(s.name, seg!);
      else if (s.kind === "glob") params.set("splat", seg!.slice(s.prefix.length, seg!.length - s.suffix.length));
      else if (s.kind === "rest") {
        params.set("splat", seg === undefined ? "" : p.path.slice(p.starts[d]! + s.prefix.length, p.path.length - s.suffix.length));
      }
    });
    return params;
  }

  /** Whether a pattern has no placeholder or splat: it matches one path only. */
  isLiteral(index: number): boolean {
    return this.patterns[index]?.every((s) => s.kind === "literal") ?? false;
  }
}

/** Whether the path from segment d on (maybe nothing) is prefix, anything, suffix: two comparisons, no scan. */
function restMatches(rest: Rest, p: SplitPath, d: number): boolean {
  const seg = p.segments[d];
  if (seg === undefined) return rest.prefix === "" && rest.suffix === "";
  const from = p.starts[d]!;
  return p.path.length - from >= rest.prefix.length + rest.suffix.length && seg.startsWith(rest.prefix) && p.path.endsWith(rest.suffix);
}

function append(out: number[], items: readonly number[]): void {
  for (const i of items) out.push(i);
}

function insert(root: Node, segments: PatternSegment[], index: number): void {
  let node = root;
  for (const s of segments) {
    if (s.kind === "literal") {
      node.literal ??= new Map();
      let child = node.literal.get(s.text);
      if (!child) node.literal.set(s.text, (child = newNode()));
      node = child;
    } else if (s.kind === "param") {
      node = node.param ??= newNode();
    } else if (s.kind === "glob") {
      node.globs ??= new Map();
      const key = `${s.prefix}*${s.suffix}`;
      let g = node.globs.get(key);
      if (!g) node.globs.set(key, (g = { prefix: s.prefix, suffix: s.suffix, node: newNode() }));
      node = g.node;
    } else {
      node.rests ??= new Map();
      const key = `${s.prefix}*${s.suffix}`;
      let r = node.rests.get(key);
      if (!r) node.rests.set(key, (r = { prefix: s.prefix, suffix: s.suffix, rules: [] }));
      r.rules.push(index);
      return;
    }
  }
  node.ends.push(index);
}

export interface CompiledRules {
  redirects: RedirectRule[];
  redirectIndex: PatternIndex;
  headers: [string, string][][];
  headerIndex: PatternIndex;
  /** True when some redirect depends on the query string. */
  queryDependent: boolean;
}

export function compileRules(rules: Partial<SiteRules>): CompiledRules {
  const redirects = (rules.redirects ?? []).map(safeRedirect);
  const redirectIndex = new PatternIndex();
  for (const r of redirects) redirectIndex.add(r.from);
  const headerRules: HeaderRule[] = rules.headers ?? [];
  const headerIndex = new PatternIndex();
  for (const r of headerRules) headerIndex.add(r.path);
  return {
    redirects,
    redirectIndex,
    // Values a client cannot read are dropped rather than failing every answer (deploys stored before validation).
    headers: headerRules.map((r) => r.headers.filter(([k, v]) => headerProblem(k, v) === null)),
    headerIndex,
    queryDependent: redirects.some((r) => r.query.length > 0),
  };
}

/** Non-ASCII in a stored destination (older deploys) is percent-encoded so Location stays valid. */
function safeRedirect(r: RedirectRule): RedirectRule {
  if (isVisibleAscii(r.to)) return r;
  return { ...r, to: r.to.replace(/[^\x21-\x7e]/gu, encodeChar) };
}

function encodeChar(c: string): string {
  try {
    return encodeURIComponent(c);
  } catch {
    return ""; // a lone surrogate
  }
}

function decodePath(rawPath: string): string | null {
  try {
    return decodeURIComponent(rawPath);
  } catch {
    return null;
  }
}

/** Whether the answer for this raw path can depend on the query string. */
export function queryMatters(rules: CompiledRules, rawPath: string): boolean {
  if (!rules.queryDependent) return false;
  const path = decodePath(rawPath) ?? rawPath;
  return rules.redirectIndex.lookup(splitPath(path)).some((i) => rules.redirects[i]!.query.length > 0);
}

/** A matching rule, its parameters, and whether it matches this one path only (no placeholder, splat or query condition). */
interface RedirectMatch {
  rule: RedirectRule;
  params: Params;
  literal: boolean;
}

/** The first redirect rule matching the path (and query), with its parameters. */
export function matchRedirect(rules: CompiledRules, p: SplitPath, query: URLSearchParams | null): RedirectMatch | null {
  for (const i of rules.redirectIndex.lookup(p)) {
    const rule = rules.redirects[i]!;
    const params = rules.redirectIndex.params(i, p);
    if (rule.query.length > 0 && !matchQuery(rule.query, query, params)) continue;
    return { rule, params, literal: rule.query.length === 0 && rules.redirectIndex.isLiteral(i) };
  }
  return null;
}

function matchQuery(conds: [string, string][], query: URLSearchParams | null, params: Params): boolean {
  if (!query) return false;
  for (const [name, want] of conds) {
    const got = query.get(name);
    if (got === null) return false;
    if (want.startsWith(":")) params.set(want.slice(1), got);
    else if (want !== got) return false;
  }
  return true;
}

/** Substitute ":name" and ":splat" in a destination; values are re-encoded for a URL. */
export function substitute(to: string, params: Params): string {
  if (params.size === 0) return to;
  return to.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (all, name: string) => {
    const v = params.get(name);
    return v === undefined ? all : encodeURI(v).replace(/[?#]/g, encodeURIComponent);
  });
}

/**
 * The headers of every `_headers` rule matching the path, and a key naming
 * which rules matched (answers with the same file and key share headers).
 * The same header from several rules is joined with ", ", except Set-Cookie,
 * which is sent once per value.
 */
export function headersFor(rules: CompiledRules, p: SplitPath): { headers: [string, string][]; key: string } {
  const matched = rules.headerIndex.lookup(p);
  const joined = new Map<string, string>();
  const cookies: [string, string][] = [];
  for (const i of matched) {
    for (const [k, v] of rules.headers[i]!) {
      if (k === "set-cookie") {
        cookies.push([k, v]);
        continue;
      }
      const prev = joined.get(k);
      joined.set(k, prev === undefined ? v : `${prev}, ${v}`);
    }
  }
  return { headers: [...joined, ...cookies], key: matched.join(",") };
}
