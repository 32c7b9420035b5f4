// Shared by the operations tests (backup, Litestream, metrics): sites with
// files of every kind, deploys over the API, byte-for-byte serving checks.
import { expect } from "bun:test";
import { randomBytes } from "node:crypto";
import { api, hostFetch, type FaztProcess } from "./fazt.ts";
import { makeTar } from "./archives.ts";

export type SiteFiles = Record<string, Uint8Array>;

/** A site's files: HTML, CSS, a binary and one file spanning several 256 KiB chunks. */
export function siteFiles(tag: string, big = 600 * 1024): SiteFiles {
  const text = (s: string) => new TextEncoder().encode(s);
  return {
    "/index.html": text(`<!doctype html><title>${tag}</title><p>${"hello ".repeat(200)}${tag}</p>`),
    "/style.css": text(`body { color: #${tag.length}0${tag.length}; } /* ${tag} */\n`.repeat(50)),
    "/blob.bin": new Uint8Array(randomBytes(3000)),
    "/big/data.bin": new Uint8Array(randomBytes(big)),
  };
}

/** Deploy files to a site over the API (creating the site when needed). */
export async function deploySite(f: FaztProcess, site: string, files: SiteFiles): Promise<string> {
  const exists = await api(f, `/api/sites/${site}`);
  await exists.arrayBuffer();
  if (exists.status === 404) expect((await api(f, "/api/sites", { method: "POST", json: { name: site } })).status).toBe(201);
  const tar = await makeTar(Object.entries(files).map(([p, data]) => ({ name: p.slice(1), data })));
  const res = await api(f, `/api/sites/${site}/deploys`, { method: "POST", body: tar });
  const body = (await res.json()) as { id: string };
  expect(res.status).toBe(201);
  return body.id;
}

/** Every file of every site is served byte-identical. */
export async function expectServesAll(f: FaztProcess, sites: Record<string, SiteFiles>): Promise<number> {
  let checked = 0;
  for (const [site, files] of Object.entries(sites)) {
    for (const [path, bytes] of Object.entries(files)) {
      const res = await hostFetch(f, `${site}.localhost`, path, { headers: { "accept-encoding": "identity" } });
      const got = new Uint8Array(await res.arrayBuffer());
      expect(res.status, `${site}${path}`).toBe(200);
      expect(Buffer.from(got).equals(Buffer.from(bytes)), `${site}${path} differs`).toBe(true);
      checked++;
    }
  }
  return checked;
}
