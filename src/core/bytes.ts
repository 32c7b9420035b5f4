// Byte counts for people: exact for configured limits, rounded for sizes.
const KiB = 1024;
export const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** A limit as configured: "1 GiB", "100 MiB", else the exact byte count. */
export function formatLimit(n: number): string {
  if (n >= GiB && n % GiB === 0) return `${n / GiB} GiB`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  return `${n} bytes`;
}

/** A size, rounded: "512 B", "1.5 KiB", "48 MiB". */
export function formatSize(n: number): string {
  if (n < KiB) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / KiB;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}
