// UTC days and hours as numbers: day = unix days, hour = unix seconds at the hour's start.
export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

export const dayOf = (ms: number): number => Math.floor(ms / DAY_MS);
export const hourOf = (ms: number): number => Math.floor(ms / HOUR_MS) * 3600;

/** "YYYY-MM-DD" for a day number. */
export function formatDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The day number of a "YYYY-MM-DD" that names a real date, else null. */
export function parseDay(s: string): number | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(s)) return null;
  const ms = Date.parse(`${s}T00:00:00Z`);
  if (Number.isNaN(ms) || formatDay(ms / DAY_MS) !== s) return null;
  return ms / DAY_MS;
}
