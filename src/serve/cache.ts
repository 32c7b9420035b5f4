// Cached values in many small maps (one per deploy, so a lookup needs no
// composite key) under one budget of bytes: each entry is charged what its
// key and value hold (values shared by several keys are charged where they
// are kept themselves). Eviction is "second chance" FIFO across all maps: a hit only sets
// a flag (no reordering on the hot path); an entry hit since it was last
// considered is kept once more.

export interface Slot<V> {
  readonly map: Map<string, Slot<V>>;
  readonly key: string;
  readonly value: V;
  readonly bytes: number;
  hot: boolean;
}

export class ByteCache<V> {
  private order = new Set<Slot<V>>();
  private used = 0;
  /** Lookups answered from the cache, and lookups that were not (for /metrics). */
  hits = 0;
  misses = 0;

  constructor(
    readonly limit: number,
    /** Larger values are never kept (one file must not flush everything). */
    readonly maxEntry = limit / 8,
  ) {}

  /** A new map whose entries count against this cache's budget. */
  newMap(): Map<string, Slot<V>> {
    return new Map();
  }

  get(map: Map<string, Slot<V>>, key: string): V | undefined {
    const slot = map.get(key);
    if (slot === undefined) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    slot.hot = true;
    return slot.value;
  }

  /** Keep value under key in map (if it fits), charged `bytes` besides its key, and return it. */
  set(map: Map<string, Slot<V>>, key: string, value: V, bytes: number): V {
    const charged = bytes + key.length;
    if (charged > this.maxEntry) return value;
    const old = map.get(key);
    if (old) this.drop(old);
    const slot: Slot<V> = { map, key, value, bytes: charged, hot: false };
    map.set(key, slot);
    this.order.add(slot);
    this.used += charged;
    while (this.used > this.limit) this.evictOne();
    return value;
  }

  /** Forget everything (the maps handed out must be dropped by their owners too). */
  clear(): void {
    for (const slot of this.order) slot.map.clear();
    this.order.clear();
    this.used = 0;
  }

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.order.size;
  }

  private evictOne(): void {
    const slot = this.order.values().next().value as Slot<V>;
    this.order.delete(slot);
    if (slot.hot) {
      slot.hot = false;
      this.order.add(slot);
    } else {
      slot.map.delete(slot.key);
      this.used -= slot.bytes;
    }
  }

  private drop(slot: Slot<V>): void {
    this.order.delete(slot);
    slot.map.delete(slot.key);
    this.used -= slot.bytes;
  }
}
