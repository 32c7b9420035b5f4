// "A deploy was written" and "a deploy went live", announced once, after the
// transaction committed: the serving caches, the routing table and the
// variant maker listen here instead of every caller remembering to tell them.
interface DeployEvent {
  siteId: number;
  deployId: string;
  /** The site's live deploy changed to this one. */
  live: boolean;
}

type DeployListener = (event: DeployEvent) => void;

export class DeployEvents {
  private readonly listeners = new Set<DeployListener>();

  /** Listen until the returned function is called. */
  on(fn: DeployListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(event: DeployEvent): void {
    for (const fn of this.listeners) fn(event);
  }
}
