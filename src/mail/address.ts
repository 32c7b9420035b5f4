// Mail addresses as the API and SMTP take them: "a@b.example" or
// "Name <a@b.example>". Only what routing needs is parsed: the address and
// its domain (lower case); the display name is passed through as given.
const ADDRESS_RE = /^[^\s<>@",;:()[\]\\]{1,64}@([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+)$/i;
const NAMED_RE = /^([^<>\r\n]{0,200})<([^<>\s]+)>$/;
export const MAX_ADDRESS_LENGTH = 320;

interface Address {
  /** The addr-spec: local@domain. */
  address: string;
  domain: string;
}

/** Null when the text is not a plain or named address. */
export function parseAddress(text: string): Address | null {
  if (text.length > MAX_ADDRESS_LENGTH || /[\r\n]/.test(text)) return null;
  const t = text.trim();
  const named = NAMED_RE.exec(t);
  const address = named ? named[2]! : t;
  const m = ADDRESS_RE.exec(address);
  if (!m) return null;
  return { address, domain: m[1]!.toLowerCase() };
}

/** Lower-case domains of a comma-separated allow-list flag value. */
export function parseDomainList(value: string | undefined): string[] {
  if (!value) return [];
  return value
    .split(",")
    .map((d) => d.trim().toLowerCase().replace(/\.$/, ""))
    .filter(Boolean);
}
