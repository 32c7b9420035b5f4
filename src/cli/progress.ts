// Upload progress: a redrawn bar on a terminal, plain lines otherwise (logs, CI).
import { formatSize } from "../core/bytes.ts";

export class Progress {
  private files = 0;
  private bytes = 0;
  private lastLine = 0;
  private lastPct = -1;
  private readonly tty: boolean;

  constructor(
    /** null: a single stream (an archive), counted in bytes only. */
    private readonly totalFiles: number | null,
    private readonly totalBytes: number,
    private readonly out: NodeJS.WriteStream = process.stderr,
  ) {
    this.tty = out.isTTY === true;
  }

  add(files: number, bytes: number): void {
    this.files += files;
    this.bytes += bytes;
    this.render(false);
  }

  done(): void {
    this.render(true);
    if (this.tty) this.out.write("\n");
  }

  private render(final: boolean): void {
    const pct = this.totalBytes > 0 ? Math.floor((100 * this.bytes) / this.totalBytes) : 100;
    const sizes = `${formatSize(this.bytes)}/${formatSize(this.totalBytes)}`;
    const text = this.totalFiles === null ? sizes : `${this.files}/${this.totalFiles} files, ${sizes}`;
    if (this.tty) {
      const now = Date.now();
      if (!final && now - this.lastLine < 50) return;
      this.lastLine = now;
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      this.out.write(`\r[${"#".repeat(filled)}${"-".repeat(width - filled)}] ${String(pct).padStart(3)}% ${text}\x1b[K`);
      return;
    }
    // Plain output: one line per 10% step, and the last one.
    const step = Math.floor(pct / 10);
    if (!final && step === this.lastPct) return;
    if (final && step === this.lastPct) return;
    this.lastPct = step;
    this.out.write(`uploaded ${text} (${pct}%)\n`);
  }
}
