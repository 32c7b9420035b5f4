// Bun's collector runs lazily: streaming a big deploy leaves tens of MiB of
// dead buffers behind. A collection every 8 MiB streamed keeps peak memory flat
// (measured: 50 MB tar.gz deploy, peak RSS 170 -> 140 MiB) for a few ms each.
const EVERY_BYTES = 8 * 1024 * 1024;

export class GcHint {
  private since = 0;

  add(bytes: number): void {
    this.since += bytes;
    if (this.since < EVERY_BYTES) return;
    this.since = 0;
    Bun.gc(true);
  }
}
