// The client address of a request, recorded by the listener so layers that
// only see the Request (the API, analytics) can read it.
const ips = new WeakMap<Request, string>();

export function setClientIp(req: Request, ip: string): void {
  ips.set(req, ip);
}

export function clientIp(req: Request): string {
  return ips.get(req) ?? "unknown";
}
