// The mail workers' one timer: `at(ms)` makes the next look for work happen
// within `ms` (a look already due sooner stands, so a burst of wake-ups costs
// one timer); after `stop()` nothing runs again.
export class Wakeup {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private dueAt = 0;
  private stopped = false;

  constructor(
    private readonly fn: () => void,
    private readonly now: () => number = Date.now,
  ) {}

  at(delayMs = 0): void {
    if (this.stopped) return;
    const due = this.now() + delayMs;
    if (this.timer && this.dueAt <= due) return;
    this.cancel();
    this.dueAt = due;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.fn();
    }, delayMs);
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  stop(): void {
    this.stopped = true;
    this.cancel();
  }
}
