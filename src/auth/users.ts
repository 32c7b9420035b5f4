// Admin users of the web UI; passwords hashed with argon2id (Bun.password).
import type { Store } from "../db/index.ts";

export class UserError extends Error {}

export async function createUser(store: Store, name: string, password: string): Promise<void> {
  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(name)) throw new UserError("user name: 1-64 of letters, digits and _ . @ -");
  if (password.length < 8) throw new UserError("password: at least 8 characters");
  const hash = await Bun.password.hash(password, { algorithm: "argon2id" });
  const exists = store.write.query("SELECT 1 FROM users WHERE name = ?").get(name);
  if (exists) throw new UserError(`user ${name} already exists`);
  store.write.query("INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)").run(name, hash, Date.now());
}

export async function verifyUser(store: Store, name: string, password: string): Promise<boolean> {
  const row = store.read.query("SELECT password_hash FROM users WHERE name = ?").get(name) as { password_hash: string } | null;
  // Verify against a dummy hash for unknown users so timing does not tell them apart.
  dummyHash ??= Bun.password.hash("not-a-real-password", { algorithm: "argon2id" });
  const ok = await Bun.password.verify(password, row?.password_hash ?? (await dummyHash));
  return ok && row !== null;
}

let dummyHash: Promise<string> | undefined;
