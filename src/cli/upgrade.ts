// fazt upgrade --check: compare this version with the newest GitHub release.
// Only on request, never automatic; fazt never replaces its own binary.
import type { CommandBody } from "./command.ts";
import { str, UsageError } from "./command.ts";
import { REPOSITORY, VERSION } from "../core/version.ts";

const TIMEOUT_MS = 5000;

/** Numeric parts of "v1.2.3" or "1.2.3-rc.1" (a pre-release sorts before its release). */
function parseVersion(v: string): { parts: number[]; pre: boolean } | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(-[0-9A-Za-z.-]+)?$/.exec(v.trim());
  return m ? { parts: [Number(m[1]), Number(m[2]), Number(m[3])], pre: m[4] !== undefined } : null;
}

/** Negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) throw new Error(`cannot compare versions "${a}" and "${b}"`);
  for (let i = 0; i < 3; i++) if (x.parts[i] !== y.parts[i]) return x.parts[i]! - y.parts[i]!;
  return Number(y.pre) - Number(x.pre);
}

interface Release {
  tag_name: string;
  html_url?: string;
}

async function latestRelease(url: string): Promise<Release> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: "application/vnd.github+json" }, signal: AbortSignal.timeout(TIMEOUT_MS) });
  } catch (err) {
    throw new Error(`could not reach ${url}: ${(err as Error).message}`);
  }
  if (!res.ok) throw new Error(`could not read the newest release from ${url}: HTTP ${res.status}`);
  const body = (await res.json().catch(() => null)) as Release | null;
  if (typeof body?.tag_name !== "string") throw new Error(`${url} did not answer with a release (no tag_name)`);
  return body;
}

export const upgradeCommand: CommandBody = {
  usage: "--check",
  maxArgs: 0,
  flags: {
    check: { type: "boolean", description: "compare with the newest release", noEnv: true },
    "releases-url": {
      type: "string",
      description: "JSON of the newest release, GitHub API shape",
      ...(REPOSITORY ? { default: `https://api.github.com/repos/${REPOSITORY}/releases/latest` } : {}),
    },
  },
  async run(args) {
    if (args.flags.check !== true) {
      throw new UsageError(
        "fazt does not replace itself: run 'fazt upgrade --check', then replace the binary and restart (docs/INSTALL.md)",
      );
    }
    const url = str(args, "releases-url");
    if (!url) throw new Error("this build does not know its GitHub repository: pass --releases-url");
    const release = await latestRelease(url);
    const newest = release.tag_name.replace(/^v/, "");
    if (compareVersions(newest, VERSION) > 0) {
      process.stdout.write(`fazt ${newest} is available (this is ${VERSION})${release.html_url ? `: ${release.html_url}` : ""}\n`);
    } else {
      process.stdout.write(`fazt ${VERSION} is up to date (newest release: ${newest})\n`);
    }
  },
};
