// Real static-site builders from npm (exact versions in test/builds/package.json,
// pinned by test/builds/bun.lock), installed once by test/builds/install.sh into a
// cache outside the repository (.ci/run runs it; the tests run it when the cache is
// missing); after that they run offline.
// Projects are written here, small and deterministic, and built with the real tools.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, relative } from "node:path";
import { ROOT } from "./fazt.ts";

const SPEC = join(ROOT, "test/builds");

/** The builders' node_modules, as install.sh placed them (same key: package.json and bun.lock). */
export function builderModules(): string {
  const key = new Bun.CryptoHasher("sha256")
    .update(readFileSync(join(SPEC, "package.json")))
    .update(readFileSync(join(SPEC, "bun.lock")))
    .digest("hex")
    .slice(0, 16);
  const dir = join(process.env.FAZT_TEST_BUILDS ?? join(homedir(), ".cache/fazt-test-builds"), key);
  if (!existsSync(join(dir, ".complete"))) {
    // A fresh machine: install them now (npm registry), as .ci/run does beforehand.
    const r = Bun.spawnSync(["bash", join(SPEC, "install.sh")], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`test/builds/install.sh failed:\n${r.stderr.toString()}`);
  }
  return join(dir, "node_modules");
}

/** Run a builder's command line script under Bun in a project; its wall time in ms. */
export async function runBuilder(modules: string, project: string, script: string, args: string[]): Promise<number> {
  if (!existsSync(join(project, "node_modules"))) symlinkSync(modules, join(project, "node_modules"));
  const started = performance.now();
  const proc = Bun.spawn([process.execPath, "--bun", join(modules, script), ...args], {
    cwd: project,
    env: { ...process.env, NO_COLOR: "1", CI: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  if (code !== 0) throw new Error(`${script} ${args.join(" ")} failed (${code}):\n${out}\n${err}`);
  return performance.now() - started;
}

/** Every file under dir as a site path ("/assets/x.js"), sorted. */
export function outputFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(`/${relative(dir, p).split("\\").join("/")}`);
    }
  };
  walk(dir);
  return out.sort();
}

export function writeFiles(dir: string, files: Record<string, string | Uint8Array>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}

/** Repeatable bytes (mulberry32), so a project builds to the same names every run. */
function bytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let t = (seed = (seed + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (t ^ (t >>> 14)) & 0xff;
  }
  return out;
}

/** An SVG over Vite's 4 KiB inlining limit, so it is emitted as a file. */
function bigSvg(): string {
  const b = bytes(7, 600);
  let circles = "";
  for (let i = 0; i < 150; i++) {
    circles += `<circle cx="${b[i]! % 100}" cy="${b[i + 150]! % 100}" r="${(b[i + 300]! % 9) + 1}" fill="#${b[i + 450]!.toString(16).padStart(2, "0")}8040"/>`;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100">${circles}</svg>`;
}

/**
 * A small Vite app like the vanilla template: a CSS file with a web font, an
 * imported SVG icon, a dynamic import, and public/ files copied as they are.
 */
export function viteProject(lazyVersion = 1): Record<string, string | Uint8Array> {
  return {
    "index.html": `<!doctype html>
<html lang="en">
  <head><meta charset="UTF-8" /><link rel="icon" href="/favicon.ico" /><title>Vite app</title></head>
  <body><div id="app"></div><script type="module" src="/src/main.js"></script></body>
</html>
`,
    "src/main.js": `import './style.css'
import iconUrl from './icon.svg'
document.querySelector('#app').innerHTML = \`<img src="\${iconUrl}" alt="icon"><button id="more">more</button>\`
document.querySelector('#more').addEventListener('click', async () => (await import('./lazy.js')).show())
`,
    "src/lazy.js": `export function show() { document.body.append('lazy v${lazyVersion}') }\n`,
    "src/style.css": `@font-face { font-family: Inter; font-weight: 600; src: url('./fonts/Inter-SemiBold.woff2') format('woff2'); }
body { font-family: Inter, sans-serif; }
`,
    "src/icon.svg": bigSvg(),
    "src/fonts/Inter-SemiBold.woff2": bytes(1, 6000),
    "public/favicon.ico": bytes(2, 400),
    "public/logo.svg": `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>`,
    "public/robots.txt": "User-agent: *\n",
    "public/fonts/Inter-SemiBold.woff2": bytes(3, 6000),
  };
}

/** A VitePress site with the default theme: a home page, a guide of two pages, an about page, a public file. */
export function vitepressProject(setupVersion = 1): Record<string, string | Uint8Array> {
  return {
    "docs/.vitepress/config.mjs": `export default { title: 'Docs', themeConfig: { nav: [{ text: 'Guide', link: '/guide/' }] } }\n`,
    "docs/index.md": "---\nlayout: home\nhero:\n  name: Docs\n  text: A small documentation site\n---\n",
    "docs/guide/index.md": "# Guide\n\nStart with the [setup](./setup).\n",
    "docs/guide/setup.md": `# Setup\n\nStep ${setupVersion}.\n\n\`\`\`js\nconsole.log(${setupVersion})\n\`\`\`\n`,
    "docs/about.md": "# About\n\nWho we are.\n",
    "docs/public/robots.txt": "User-agent: *\n",
    "docs/public/favicon.ico": bytes(4, 400),
  };
}
