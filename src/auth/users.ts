// Admin users of the web UI; passwords hashed with argon2id (Bun.password).
// Changing a password or removing a user ends that user's sessions in the same transaction.
import type { Store } from "../db/index.ts";
import { endUserSessions } from "./sessions.ts";

class UserError extends Error {}

const NAME_RE = /^[A-Za-z0-9_.@-]{1,64}$/;
/** Longer passwords are refused: argon2 hashes any length, but a sign-in body must stay small. */
export const MAX_PASSWORD_LENGTH = 1024;

function validName(name: string): string {
  if (!NAME_RE.test(name)) throw new UserError("user name: 1-64 of letters, digits and _ . @ -");
  return name;
}

function hashPassword(password: string): Promise<string> {
  if (password.length < 8) throw new UserError("password: at least 8 characters");
  if (password.length > MAX_PASSWORD_LENGTH) throw new UserError(`password: at most ${MAX_PASSWORD_LENGTH} characters`);
  return Bun.password.hash(password, { algorithm: "argon2id" });
}

export async function createUser(store: Store, name: string, password: string): Promise<void> {
  validName(name);
  const taken = () => store.write.query("SELECT 1 FROM users WHERE name = ?").get(name) !== null;
  if (taken()) throw new UserError(`user ${name} already exists`);
  const hash = await hashPassword(password);
  if (taken()) throw new UserError(`user ${name} already exists`); // created meanwhile
  store.write.query("INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)").run(name, hash, Date.now());
}

/** Sets a new password and ends the user's sessions; returns how many sessions ended. */
export async function setPassword(store: Store, name: string, password: string): Promise<number> {
  const hash = await hashPassword(password);
  return store.tx(() => {
    const changed = store.write.query("UPDATE users SET password_hash = ? WHERE name = ?").run(hash, name).changes;
    if (changed === 0) throw new UserError(`no user ${name}`);
    return endUserSessions(store, name);
  });
}

/** Removes a user and (by the same transaction) every session of theirs. */
export function removeUser(store: Store, name: string): void {
  store.tx(() => {
    endUserSessions(store, name);
    if (store.write.query("DELETE FROM users WHERE name = ?").run(name).changes === 0) throw new UserError(`no user ${name}`);
  });
}

interface UserView {
  name: string;
  createdAt: number;
  sessions: number;
}

export function listUsers(store: Store): UserView[] {
  return store.write
    .query(
      `SELECT u.name, u.created_at AS createdAt, (SELECT count(*) FROM sessions s WHERE s.user_id = u.id) AS sessions
       FROM users u ORDER BY u.name`,
    )
    .all() as UserView[];
}

export async function verifyUser(store: Store, name: string, password: string): Promise<boolean> {
  const row = store.read.query("SELECT password_hash FROM users WHERE name = ?").get(name) as { password_hash: string } | null;
  // Verify against a dummy hash for unknown users so timing does not tell them apart.
  // Awaited on both paths, so the first call costs the same for a known and an unknown name.
  dummyHash ??= Bun.password.hash("not-a-real-password", { algorithm: "argon2id" });
  const dummy = await dummyHash;
  const ok = await Bun.password.verify(password, row?.password_hash ?? dummy);
  return ok && row !== null;
}

let dummyHash: Promise<string> | undefined;
