// Order attempts per hostname in the `certificate_status` table: consecutive
// failures, the last error and when the next attempt may run (back-off). The
// manager decides; this is the only code that reads or writes the table.
import type { Store } from "../db/index.ts";

/** next_attempt_at of a name given up on: no automatic attempt until it is added again. */
export const GAVE_UP = Number.MAX_SAFE_INTEGER;

export interface Attempts {
  name: string;
  failures: number;
  first_failure_at: number | null;
  last_error: string | null;
  next_attempt_at: number;
}

const COLUMNS = "name, failures, first_failure_at, last_error, next_attempt_at";

export function attemptsOf(store: Pick<Store, "write">, name: string): Attempts | null {
  return store.write.query(`SELECT ${COLUMNS} FROM certificate_status WHERE name = ?`).get(name) as Attempts | null;
}

/** Every name's attempts, on the reading connection (fazt doctor hands in a read-only one). */
export function allAttempts(store: Pick<Store, "read">): Attempts[] {
  return store.read.query(`SELECT ${COLUMNS} FROM certificate_status`).all() as Attempts[];
}

export function recordAttempt(store: Pick<Store, "write">, name: string): void {
  store.write
    .query(
      `INSERT INTO certificate_status (name, last_attempt_at, updated_at) VALUES (?1, ?2, ?2)
       ON CONFLICT(name) DO UPDATE SET last_attempt_at = ?2, updated_at = ?2`,
    )
    .run(name, Date.now());
}

export function recordSuccess(store: Pick<Store, "write">, name: string): void {
  store.write
    .query(
      `UPDATE certificate_status SET failures = 0, first_failure_at = NULL, last_error = NULL, next_attempt_at = 0, updated_at = ?
       WHERE name = ?`,
    )
    .run(Date.now(), name);
}

export function recordFailure(store: Pick<Store, "write">, failed: Attempts): void {
  store.write
    .query(
      `UPDATE certificate_status SET failures = ?, first_failure_at = ?, last_error = ?, next_attempt_at = ?, updated_at = ?
       WHERE name = ?`,
    )
    .run(failed.failures, failed.first_failure_at, failed.last_error, failed.next_attempt_at, Date.now(), failed.name);
}

/** A name given up on starts afresh (it was added again). */
export function forgetGaveUp(store: Pick<Store, "write">, name: string): void {
  store.write.query("DELETE FROM certificate_status WHERE name = ? AND next_attempt_at >= ?").run(name, GAVE_UP);
}
