// The mail workers' one timer: `at(ms)` schedules the next look for work,
// replacing any pending one; after `stop()` nothing runs again.
export class Wakeup {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;

  constructor(private readonly fn: () => void) {}

  at(delayMs = 0): void {
    if (this.stopped) return;
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.fn();
    }, delayMs);
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }
}
