// Short random ids that are safe inside a DNS label (lower-case base32).
const ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

export function randomId(length = 12): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = "";
  for (const b of bytes) out += ALPHABET[b & 31];
  return out;
}
