// Resources closed in the reverse order they were opened, each close awaited and its failure logged,
// never stopping the closes after it: the shutdown and start-up-failure path of the server, the client
// pipeline and the demo.

type Close = () => unknown;

export class CleanupStack {
  private readonly closes: Close[] = [];
  private closed: Promise<void> | undefined;

  constructor(private readonly onError: (err: Error) => void = () => undefined) {}

  /** Registers a close; the last registered runs first. */
  push(close: Close): void {
    this.closes.push(close);
  }

  /** Registers `close` to run right after `existing` (or first, when `existing` is not registered). */
  pushAfter(existing: Close, close: Close): void {
    const i = this.closes.indexOf(existing);
    this.closes.splice(i < 0 ? this.closes.length : i, 0, close);
  }

  /** Runs every close once, last registered first; later calls return the same promise. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      for (const close of this.closes.reverse()) {
        try {
          await close();
        } catch (err) {
          this.onError(err instanceof Error ? err : new Error(String(err)));
        }
      }
    })();
    return this.closed;
  }
}
