// HTTP-01 challenge answers in the `acme_challenges` table: written by the
// process placing an order, read by the HTTP listener of any process on the
// database. The only code that touches the table.
import type { Store } from "../db/index.ts";

const DAY_MS = 86_400_000;

/** The answer to a challenge token for a domain, or null. */
export function challengeAnswer(store: Pick<Store, "read">, token: string, domain: string): string | null {
  const row = store.read.query("SELECT key_authorization FROM acme_challenges WHERE token = ? AND domain = ?").get(token, domain) as {
    key_authorization: string;
  } | null;
  return row?.key_authorization ?? null;
}

export function saveChallenge(store: Pick<Store, "write">, token: string, keyAuthorization: string, domain: string): void {
  store.write
    .query("INSERT OR REPLACE INTO acme_challenges (token, key_authorization, domain, created_at) VALUES (?, ?, ?, ?)")
    .run(token, keyAuthorization, domain, Date.now());
}

/** Every answer for a domain (its order is over). */
export function clearChallenges(store: Pick<Store, "write">, domain: string): void {
  store.write.query("DELETE FROM acme_challenges WHERE domain = ?").run(domain);
}

/** Answers of orders long gone (a process killed mid-order a week ago). */
export function expireChallenges(store: Pick<Store, "write">): void {
  store.write.query("DELETE FROM acme_challenges WHERE created_at < ?").run(Date.now() - 7 * DAY_MS);
}
