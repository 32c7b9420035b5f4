// Which files of a deploy are fingerprinted (their name changes whenever their
// content does), so they may be cached for a year as `immutable`. Decided once
// per deploy, when its manifest is written; the serving path reads the flag.
//
// A wrong "yes" keeps stale content in browsers for a year, a wrong "no" costs
// a revalidation, so one name alone decides only when its hash part is
// unmistakable; weaker names need a second piece of evidence:
// - folder: the build's own immutable folders (SvelteKit, Next.js, Astro, Nuxt);
// - shape:  most files of the directory share one `name-HASH.ext` / `name.HASH.ext` shape;
// - changed: the previous live deploy had the same name with another hash
//   (base, extension and hash length kept, the hash mostly new).
// A path whose content changed under the same name is never immutable: that
// name does not address its content.
import type { Breather } from "../core/breather.ts";

type Evidence = "kept" | "folder" | "name" | "shape" | "changed";

export interface NewFile {
  path: string;
  blobId: number;
  mime: string;
}

export interface PreviousFile {
  path: string;
  blobId: number;
  immutable: boolean;
}

/** How sure a hash part alone makes us: A alone suffices, B needs shape or change evidence, C needs change evidence. */
type Tier = "A" | "B" | "C";

/** How a hash part sits in a file name. */
type Placement = "." | "-" | "first" | "whole";

interface HashedName {
  dir: string;
  /** The name without hash and suffix: `index` for `index-DbBObRe-.js`. */
  base: string;
  placement: Placement;
  hash: string;
  /** What follows the hash: `.js`, `.lean.js`, `-600.webp`. */
  suffix: string;
  tier: Tier;
}

/** Folders whose every file a framework names by content; `except` lists sub-folders that are not. */
const IMMUTABLE_FOLDERS: readonly { folder: string; except?: string }[] = [
  { folder: "/_app/immutable/" }, // SvelteKit
  { folder: "/_next/static/" }, // Next.js (chunks, css, media, and the build id's folder)
  { folder: "/_astro/" }, // Astro
  { folder: "/_nuxt/", except: "/_nuxt/builds/" }, // Nuxt; builds/latest.json changes in place
];

const MIN_HASH = 8;
const MAX_HASH = 128; // sha512 in hex (Hugo's `fingerprint "sha512"`)
const MAX_SUFFIX_PARTS = 3; // `.lean.js.map`
const MAX_DASH_SPLITS = 4;
const MAX_NAME = 255; // longer names are no build's output; this bounds the work per file
const HASH_CHARS = /^[A-Za-z0-9_-]+$/;
const EXTENSION = /^[A-Za-z0-9]{1,10}$/;

/** Names looked at between two chances for the caller to pause (a name costs ~1.5 µs). */
const NAMES_PER_STEP = 2000;

/** The paths of a new manifest to serve as immutable, given the previous live deploy's files. */
export function immutableFiles(files: readonly NewFile[], previous: readonly PreviousFile[]): Set<string> {
  return immutableOf(fingerprintEvidence(files, previous));
}

/** The same, letting the event loop run between steps (50,000 names take ~75 ms). */
export async function immutableFilesInSlices(
  files: readonly NewFile[],
  previous: readonly PreviousFile[],
  breather: Breather,
): Promise<Set<string>> {
  const steps = evidenceSteps(files, previous);
  for (;;) {
    const step = steps.next();
    if (step.done) return immutableOf(step.value);
    await breather.breathe();
  }
}

function immutableOf(evidence: Map<string, Evidence[]>): Set<string> {
  const result = new Set<string>();
  for (const [path, found] of evidence) if (found.length > 0) result.add(path);
  return result;
}

/**
 * Every piece of evidence that each file of a new manifest is fingerprinted
 * (none: revalidate). Documents (HTML) get none, nor does a path whose
 * content differs from the previous deploy's under the same name.
 */
export function fingerprintEvidence(files: readonly NewFile[], previous: readonly PreviousFile[]): Map<string, Evidence[]> {
  const steps = evidenceSteps(files, previous);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/** fingerprintEvidence, pausing (yield) every NAMES_PER_STEP names. */
function* evidenceSteps(files: readonly NewFile[], previous: readonly PreviousFile[]): Generator<void, Map<string, Evidence[]>> {
  const before = new Map(previous.map((f) => [f.path, f]));
  const after = new Set(files.map((f) => f.path));
  const names = new Map<string, HashedName | null>();
  let seen = 0;
  for (const f of files) {
    if (!isDocument(f.mime)) names.set(f.path, hashedName(f.path));
    if (++seen % NAMES_PER_STEP === 0) yield;
  }
  const shapes = directoryShapes(files, names);
  yield;
  const replaced = yield* replacedHashes(previous, after);
  const result = new Map<string, Evidence[]>();
  for (const f of files) {
    if (++seen % NAMES_PER_STEP === 0) yield;
    const evidence: Evidence[] = [];
    result.set(f.path, evidence);
    const old = before.get(f.path);
    if (isDocument(f.mime) || (old && old.blobId !== f.blobId)) continue;
    if (old?.immutable) evidence.push("kept");
    if (inImmutableFolder(f.path)) evidence.push("folder");
    const n = names.get(f.path);
    if (!n) continue;
    if (n.tier === "A" && (n.placement === "." || n.placement === "-")) evidence.push("name");
    if (n.tier !== "C" && shapes.get(n.dir) === shapeOf(n)) evidence.push("shape");
    if (!old && n.base !== "" && replaced.get(changeKey(n))?.some((hash) => isNewHash(hash, n.hash))) evidence.push("changed");
  }
  return result;
}

function isDocument(mime: string): boolean {
  return mime.startsWith("text/html");
}

function inImmutableFolder(path: string): boolean {
  for (const { folder, except } of IMMUTABLE_FOLDERS) {
    const at = path.indexOf(folder);
    if (at >= 0 && !(except && path.indexOf(except) === at)) return true;
  }
  return false;
}

const shapeOf = (n: HashedName) => `${n.placement}${n.hash.length}`;
const changeKey = (n: HashedName) => `${n.dir}\0${n.base}\0${n.placement}\0${n.suffix}\0${n.hash.length}`;

/**
 * Per directory, the shape (placement and hash length) that more than half of
 * its non-document files share, counting only A and B hash parts, at least two of them.
 */
function directoryShapes(files: readonly NewFile[], names: Map<string, HashedName | null>): Map<string, string> {
  const totals = new Map<string, number>();
  const counts = new Map<string, Map<string, number>>();
  for (const f of files) {
    if (isDocument(f.mime)) continue;
    const dir = f.path.slice(0, f.path.lastIndexOf("/") + 1);
    totals.set(dir, (totals.get(dir) ?? 0) + 1);
    const n = names.get(f.path);
    if (!n || n.tier === "C") continue;
    const byShape = counts.get(dir) ?? new Map<string, number>();
    byShape.set(shapeOf(n), (byShape.get(shapeOf(n)) ?? 0) + 1);
    counts.set(dir, byShape);
  }
  const shapes = new Map<string, string>();
  for (const [dir, byShape] of counts) {
    for (const [shape, count] of byShape) if (count >= 2 && count * 2 > totals.get(dir)!) shapes.set(dir, shape);
  }
  return shapes;
}

/** Hash parts (A or B only) of the previous deploy's names that the new manifest no longer has, by change key. */
function* replacedHashes(previous: readonly PreviousFile[], after: Set<string>): Generator<void, Map<string, string[]>> {
  const replaced = new Map<string, string[]>();
  let seen = 0;
  for (const f of previous) {
    if (++seen % NAMES_PER_STEP === 0) yield;
    if (after.has(f.path)) continue;
    const n = hashedName(f.path);
    if (!n || n.tier === "C" || n.base === "") continue;
    const key = changeKey(n);
    replaced.set(key, [...(replaced.get(key) ?? []), n.hash]);
  }
  return replaced;
}

/**
 * A new content hash differs from the old one in most places (Rollup's often
 * keep a first letter or two: `CFRFSerO` → `CFeDYvrR`); an edited name
 * (`Semibold` → `SemiBold`) does not.
 */
function isNewHash(old: string, hash: string): boolean {
  let same = 0;
  for (let i = 0; i < hash.length; i++) if (old[i] === hash[i]) same++;
  return same * 2 <= hash.length;
}

/** The most convincing hash part of a path's file name, or null when none looks like one. */
function hashedName(path: string): HashedName | null {
  const slash = path.lastIndexOf("/");
  const name = path.slice(slash + 1);
  if (name.length > MAX_NAME) return null;
  const found: Split[] = [];
  let stemEnd = name.length;
  for (let k = 0; k < MAX_SUFFIX_PARTS; k++) {
    const dot = name.lastIndexOf(".", stemEnd - 1);
    if (dot <= 0 || !EXTENSION.test(name.slice(dot + 1, stemEnd))) break;
    stemEnd = dot;
    splits(name.slice(0, stemEnd), name.slice(stemEnd), found);
  }
  // The shortest hash part that is not word-like (`DbBObRe-`, not `bundler-DbBObRe-` or
  // `index-ab-CDEFG` whole), the better tier among equals; else the shortest.
  found.sort((x, y) => x.hash.length - y.hash.length);
  let best: HashedName | null = null;
  for (const c of found) {
    if (best && best.tier !== "C" && c.hash.length > best.hash.length) break;
    const candidate: HashedName = { dir: path.slice(0, slash + 1), ...c, tier: tierOf(c.hash) };
    if (!best || (best.tier === "C" ? candidate.tier !== "C" : candidate.tier < best.tier)) best = candidate;
  }
  return best;
}

type Split = Omit<HashedName, "dir" | "tier">;

/**
 * The ways a stem (name without suffix) can be `base.HASH`, `base-HASH`,
 * `HASH-123` or `HASH`: at most six, however many dashes it has.
 */
function splits(stem: string, suffix: string, out: Split[]): void {
  const dot = stem.lastIndexOf(".");
  const last = stem.slice(dot + 1);
  const prefix = dot >= 0 ? stem.slice(0, dot + 1) : "";
  if (isHashShaped(last)) out.push({ base: dot > 0 ? stem.slice(0, dot) : "", placement: dot > 0 ? "." : "whole", hash: last, suffix });
  // A base64url hash may hold dashes itself (`DbBObRe-`): try the last few dashes.
  let i = last.length;
  for (let tries = 0; tries < MAX_DASH_SPLITS; tries++) {
    i = last.lastIndexOf("-", i - 1);
    if (i <= 0) break;
    const tail = last.slice(i + 1);
    if (isHashShaped(tail)) out.push({ base: prefix + last.slice(0, i), placement: "-", hash: tail, suffix });
    // eleventy-img: `HASH-WIDTH.format`
    if (tries === 0 && dot < 0 && /^\d{1,5}$/.test(tail) && isHashShaped(last.slice(0, i))) {
      out.push({ base: "", placement: "first", hash: last.slice(0, i), suffix });
    }
  }
}

function isHashShaped(s: string): boolean {
  return s.length >= MIN_HASH && s.length <= MAX_HASH && HASH_CHARS.test(s);
}

/**
 * A: hex or base64url with a digit and letters (both cases for base64url), not word-like.
 * B: not word-like (Rollup hashes without a digit: `DmKvMAsX`, `CqjqNYQ-`).
 * C: word-like (`SemiBold`, `MyComponent`, `20240101`).
 */
function tierOf(hash: string): Tier {
  if (isWordLike(hash)) return "C";
  const digit = /\d/.test(hash);
  if (digit && /^([0-9a-f]+|[0-9A-F]+)$/.test(hash) && /[a-fA-F]/.test(hash)) return "A";
  if (digit && /[a-z]/.test(hash) && /[A-Z]/.test(hash)) return "A";
  return "B";
}

const VOWELS = /[aeiouy]/;

/**
 * True when the text reads as words: `-`/`_`-separated pieces, none empty,
 * each made of words (`Semi`, `bold`: 3+ letters with a vowel and at most
 * four consonants in a row, or a common two-letter word), led by at most one
 * acronym (`SVG`: 2-4 capitals, or a word in capitals like `README`), numbers
 * only at the end (`Sunset01`, `20240101`), with 3.5+ letters a word on
 * average (random hashes break into short pieces: `kviDryOg`). About 0.6% of
 * random 8-character base64url hashes read as words. Linear time.
 */
export function isWordLike(text: string): boolean {
  let letters = 0;
  let words = 0;
  for (const piece of text.split(/[-_]/)) {
    if (piece === "") return false;
    const runs = piece.match(/[A-Z]+|[a-z]+|[0-9]+/g) ?? [];
    const wordsBefore = words;
    for (let i = 0; i < runs.length; i++) {
      let word = runs[i]!;
      if (word[0]! <= "9") {
        if (i < runs.length - 1) return false;
        continue;
      }
      const next = runs[i + 1];
      let caps = "";
      if (word[0]! <= "Z" && next && next[0]! >= "a") {
        // capitals then lower case: the last capital starts a word (`SVGIcon` = SVG + Icon)
        caps = word.slice(0, -1);
        word = word.slice(-1) + next;
        i++;
      } else if (word[0]! <= "Z") {
        caps = word;
        word = "";
      }
      if (caps) {
        if (words > wordsBefore || !isAcronym(caps)) return false;
        letters += caps.length;
        words++;
      }
      if (word) {
        if (!isWord(word)) return false;
        letters += word.length;
        words++;
      }
    }
  }
  return words === 0 || letters >= 3.5 * words;
}

function isAcronym(caps: string): boolean {
  // longer: a word in capitals (`README`, `LICENSE`), two true vowels, no three consonants in a row
  if (caps.length <= 4) return caps.length >= 2;
  return (caps.match(/[AEIOU]/g)?.length ?? 0) >= 2 && !/[^AEIOU]{3}/.test(caps);
}

// Two-letter words: only common ones (`My`, `Id`, `Up`); random two-letter humps (`Ba`, `ym`) are most of what else reads as words.
const TWO_LETTER_WORDS = new Set(
  "ad ai am an as at be by do eg go he hi id if in io is it me my no of oh ok on or os so to ui up us vs we".split(" "),
);

function isWord(word: string): boolean {
  const lower = word.toLowerCase();
  if (lower.length === 2) return TWO_LETTER_WORDS.has(lower);
  return word.length > 2 && VOWELS.test(lower) && !/[^aeiouy]{5}/.test(lower);
}
