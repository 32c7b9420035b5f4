// Password hashes of site protection (Basic-Auth credentials, site passwords):
// argon2id through Bun.password, which hashes and verifies on Bun's thread
// pool, never on the event loop.

/** OWASP's smallest recommended argon2id cost (19 MiB, 2 passes): about 20 ms of one pool thread per hash or check. */
export const PASSWORD_HASH = { algorithm: "argon2id", memoryCost: 19_456, timeCost: 2 } as const;

/** Longest site password accepted (a sign-in body stays small). */
export const MAX_SITE_PASSWORD = 256;

const HASHED = /^\$(argon2id\$v=\d+\$m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+|2[aby]\$\d\d\$[./A-Za-z0-9]{53})$/;

/** Whether a secret is a password hash (argon2id or bcrypt, as Bun.password writes them) rather than a password. */
export function isPasswordHash(secret: string): boolean {
  return HASHED.test(secret);
}

export function hashPassword(password: string): Promise<string> {
  return Bun.password.hash(password, PASSWORD_HASH);
}
