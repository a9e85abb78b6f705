// The Argon2 budget: at most `concurrency` verifications run at once and at most `queue` wait for a slot;
// anything beyond is refused at once (the caller answers 503) instead of piling up CPU work an attacker
// can create for free. Cached verdicts never come here (src/auth/authenticator.ts), so users already
// verified are never delayed by a flood of new guesses.
import { verificationsInFlight } from '../limits/index.js';

export class VerifyGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    private readonly concurrency: number,
    private readonly queue: number,
  ) {}

  /** Runs `work` within the budget; undefined (and `work` not started) when the budget is full. */
  run<T>(work: () => Promise<T>): Promise<T> | undefined {
    if (this.running >= this.concurrency && this.waiting.length >= this.queue) return undefined;
    return this.slot().then(async () => {
      try {
        return await work();
      } finally {
        this.release();
      }
    });
  }

  /** Verifications running or waiting right now. */
  get load(): number {
    return this.running + this.waiting.length;
  }

  private slot(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      verificationsInFlight.set(this.load);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      verificationsInFlight.set(this.load);
    });
  }

  private release(): void {
    const next = this.waiting.shift();
    // the slot passes straight to the next waiter; `running` is unchanged then
    if (next) next();
    else this.running--;
    verificationsInFlight.set(this.load);
  }
}
