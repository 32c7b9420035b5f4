// Free space on the database's file system, checked before deploy bytes are
// written: a deploy stops (507) while a reserve is still free, so cleaning up
// after it, checkpoints and every other write still have room. A disk that
// fills anyway (another process) ends in SQLITE_FULL, also a 507.
import { statfsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { VfsError } from "./errors.ts";
import { formatLimit } from "../core/bytes.ts";

// Between two looks at the file system, at most this much is written.
const RECHECK_BYTES = 4 * 1024 * 1024;

export class DiskGuard {
  private readonly dir: string;
  /** Bytes that may still be written before the next look. */
  private allowance = 0;

  constructor(
    dbPath: string,
    private readonly reserveBytes: number,
  ) {
    this.dir = dirname(resolve(dbPath));
  }

  /** Throws 507 unless `bytes` more can be written and the reserve still be free. */
  check(bytes: number): void {
    if (this.reserveBytes === 0) return;
    this.allowance -= bytes;
    if (this.allowance >= 0) return;
    const st = statfsSync(this.dir);
    const spare = Number(st.bavail) * Number(st.bsize) - this.reserveBytes;
    if (spare < bytes) {
      throw new VfsError(
        507,
        "insufficient_storage",
        `the disk holding the database is nearly full (less than ${formatLimit(this.reserveBytes)} would stay free; --min-free-disk-bytes); nothing was deployed`,
      );
    }
    this.allowance = Math.min(RECHECK_BYTES, spare - bytes);
  }
}
