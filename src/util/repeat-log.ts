// Once-per-interval logging of an event that repeats under the same key (e.g. the same client certificate
// refused for the same reason at every retry): the first occurrence is reported at once, the repeats are
// counted and reported as one summary per interval while they go on. A key quiet for a whole interval is
// forgotten, so its next occurrence is reported in full again. At most `maxKeys` keys are tracked: beyond
// that, occurrences of new keys are only counted (one overflow summary per interval), so a peer that varies
// the key (e.g. fresh self-signed certificates) costs bounded memory and bounded log lines.

export interface RepeatLogOptions<F> {
  intervalMs: number;
  maxKeys: number;
  /** the first occurrence of a key (or the first after it was forgotten) */
  first(fields: F): void;
  /** `count` more occurrences of the key during the last interval; `fields` are those of the latest one */
  repeated(fields: F, count: number): void;
  /** `count` occurrences of keys that could not be tracked because the table was full */
  overflowed(count: number): void;
}

interface Entry<F> {
  fields: F;
  repeats: number;
  /** whether the key occurred since the previous flush */
  active: boolean;
}

export class RepeatLog<F> {
  private readonly entries = new Map<string, Entry<F>>();
  private overflow = 0;
  private timer?: NodeJS.Timeout;

  constructor(private readonly opts: RepeatLogOptions<F>) {}

  /** Keys currently tracked. */
  get size(): number {
    return this.entries.size;
  }

  hit(key: string, fields: F): void {
    const entry = this.entries.get(key);
    if (entry) {
      entry.repeats++;
      entry.fields = fields;
      entry.active = true;
    } else if (this.entries.size >= this.opts.maxKeys) {
      this.overflow++;
    } else {
      this.entries.set(key, { fields, repeats: 0, active: true });
      this.opts.first(fields);
    }
    this.arm();
  }

  /** Reports what was counted since the last flush and forgets the keys that were quiet. Runs every interval. */
  flush(): void {
    for (const [key, entry] of this.entries) {
      if (entry.repeats > 0) this.opts.repeated(entry.fields, entry.repeats);
      if (!entry.active) this.entries.delete(key);
      entry.repeats = 0;
      entry.active = false;
    }
    if (this.overflow > 0) this.opts.overflowed(this.overflow);
    this.overflow = 0;
    if (this.entries.size === 0) this.disarm();
  }

  /** Stops the timer; what was counted and not yet reported is reported now. */
  close(): void {
    this.flush();
    this.entries.clear();
    this.disarm();
  }

  private arm(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.flush(), this.opts.intervalMs);
    this.timer.unref();
  }

  private disarm(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
