// A map bounded by bytes: each value says how many bytes it holds. Eviction
// is "second chance" FIFO: a hit only sets a flag (no reordering on the hot
// path); an entry hit since it was last considered is kept once more.

interface Slot<V> {
  value: V;
  hot: boolean;
}

export class ByteCache<V extends { bytes: number }> {
  private map = new Map<string, Slot<V>>();
  private used = 0;

  constructor(
    readonly limit: number,
    /** Larger values are never kept (one file must not flush everything). */
    readonly maxEntry = limit / 8,
  ) {}

  get(key: string): V | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    slot.hot = true;
    return slot.value;
  }

  /** Keep value (if it fits) and return it. */
  set(key: string, value: V): V {
    if (value.bytes > this.maxEntry) return value;
    const old = this.map.get(key);
    if (old) this.used -= old.value.bytes;
    this.map.set(key, { value, hot: false });
    this.used += value.bytes;
    this.evict();
    return value;
  }

  clear(): void {
    this.map.clear();
    this.used = 0;
  }

  get bytes(): number {
    return this.used;
  }

  get size(): number {
    return this.map.size;
  }

  private evict(): void {
    while (this.used > this.limit) {
      const [key, slot] = this.map.entries().next().value as [string, Slot<V>];
      this.map.delete(key);
      if (slot.hot) {
        slot.hot = false;
        this.map.set(key, slot);
      } else {
        this.used -= slot.value.bytes;
      }
    }
  }
}
