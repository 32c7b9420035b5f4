// Cached values in many small maps (one per deploy, so a lookup needs no
// composite key) under one budget of bytes: each value says how many bytes
// it holds. Eviction is "second chance" FIFO across all maps: a hit only sets
// a flag (no reordering on the hot path); an entry hit since it was last
// considered is kept once more.

export interface Slot<V> {
  readonly map: Map<string, Slot<V>>;
  readonly key: string;
  readonly value: V;
  hot: boolean;
}

export class ByteCache<V extends { bytes: number }> {
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

  /** Keep value under key in map (if it fits) and return it. */
  set(map: Map<string, Slot<V>>, key: string, value: V): V {
    if (value.bytes > this.maxEntry) return value;
    const old = map.get(key);
    if (old) this.drop(old);
    const slot: Slot<V> = { map, key, value, hot: false };
    map.set(key, slot);
    this.order.add(slot);
    this.used += value.bytes;
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
      this.used -= slot.value.bytes;
    }
  }

  private drop(slot: Slot<V>): void {
    this.order.delete(slot);
    slot.map.delete(slot.key);
    this.used -= slot.value.bytes;
  }
}
