// Checks after a hostile request: the server still answers quickly, other
// sites serve, the live deploy is unchanged and the database is sound.
import { expect } from "bun:test";
import { Database } from "bun:sqlite";
import { api, hostFetch, type FaztProcess } from "./fazt.ts";

export async function page(f: FaztProcess, site: string, path = "/"): Promise<string> {
  const r = await hostFetch(f, `${site}.localhost`, path);
  return r.status === 200 ? await r.text() : `HTTP ${r.status}`;
}

export function readDb<T>(f: FaztProcess, fn: (d: Database) => T): T {
  const d = new Database(f.db, { readonly: true });
  try {
    return fn(d);
  } finally {
    d.close();
  }
}

export async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await res.json()) as { error?: { code: string; message: string } };
  return { status: res.status, code: body.error?.code ?? "(none)", message: body.error?.message ?? "" };
}

/** The worst event-loop hold since the previous scrape (fazt_event_loop_lag_max_seconds), in ms. */
export async function loopHoldMs(f: FaztProcess): Promise<number> {
  const text = await (await api(f, "/metrics")).text();
  const m = /^fazt_event_loop_lag_max_seconds ([0-9.e+-]+)$/m.exec(text);
  if (!m) throw new Error("no fazt_event_loop_lag_max_seconds in /metrics");
  return Number(m[1]) * 1000;
}

export interface Survivor {
  site: string;
  deployId: string;
  pages: Record<string, string>;
}

/** After a hostile request: health within 1 s, every survivor live and serving, the database sound. */
export async function expectHealthy(f: FaztProcess, survivors: Survivor[]): Promise<void> {
  const health = await fetch(`${f.url}/api/health`, { signal: AbortSignal.timeout(1000) });
  expect(health.status).toBe(200);
  for (const s of survivors) {
    const site = (await (await api(f, `/api/sites/${s.site}`)).json()) as { live_deploy: string };
    expect(site.live_deploy).toBe(s.deployId);
    for (const [path, text] of Object.entries(s.pages)) expect(await page(f, s.site, path)).toBe(text);
  }
  readDb(f, (d) => {
    expect(d.query("PRAGMA integrity_check").get()).toEqual({ integrity_check: "ok" });
    expect(d.query("PRAGMA foreign_key_check").all()).toEqual([]);
  });
}
