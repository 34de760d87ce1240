/**
 * Which graph may run its warm-up now. Warm-ups measure rows/s per batch size (./warmup.ts), so
 * two running side by side would distort each other's profile: graphs of a size warm up one
 * after another. But a small graph never waits behind a big one — a 296M-parameter network's
 * warm-up call takes seconds, and a 16×16 model must not stay unready meanwhile — so a graph
 * whose every running warm-up is at least BIGGER times its size starts at once, sharing the
 * cores with that call (its profile is then pessimistic; its batch target errs towards smaller
 * calls). Waiting graphs start smallest first.
 */

/** A running warm-up only holds back graphs more than 1/BIGGER of its size (cm.onnx and jfdl.onnx of one model wait for each other). */
export const BIGGER = 4;

interface Waiting {
  bytes: number;
  start: () => void;
}

export class WarmupGate {
  private readonly running: number[] = [];
  private readonly waiting: Waiting[] = [];

  /** Whether a graph of `bytes` may start with warm-ups of these sizes running. */
  static mayStart(bytes: number, running: readonly number[]): boolean {
    return running.every((r) => r >= BIGGER * Math.max(bytes, 1));
  }

  /** Run `fn` (a warm-up of a graph of `bytes` on disk) when the gate lets it. */
  async run<T>(bytes: number, fn: () => Promise<T>): Promise<T> {
    if (WarmupGate.mayStart(bytes, this.running)) this.running.push(bytes);
    // admit() counts it as running the moment it lets it through
    else await new Promise<void>((start) => this.waiting.push({ bytes, start }));
    try {
      return await fn();
    } finally {
      this.running.splice(this.running.indexOf(bytes), 1);
      this.admit();
    }
  }

  /** Sizes of the warm-ups running now (for tests and logs). */
  get runningBytes(): readonly number[] {
    return this.running;
  }

  /** Start every waiting warm-up the gate now lets through, smallest first. */
  private admit() {
    this.waiting.sort((a, b) => a.bytes - b.bytes);
    for (let i = 0; i < this.waiting.length; ) {
      const w = this.waiting[i];
      if (!WarmupGate.mayStart(w.bytes, this.running)) {
        i++;
        continue;
      }
      this.waiting.splice(i, 1);
      this.running.push(w.bytes);
      w.start();
    }
  }
}
