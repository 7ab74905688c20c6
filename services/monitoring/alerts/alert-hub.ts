import { AlertState, type AlertChanged } from "../../../libs/gen/tessera/events/v1/monitoring_events_pb.js";

/**
 * The alerts that are pending or firing now, and the watchers of their
 * changes. Each watcher has a bounded queue: a watcher too slow to keep up
 * is ended rather than buffered without limit.
 */
export class AlertHub {
  private readonly active = new Map<string, AlertChanged>();
  private readonly watchers = new Set<Watcher>();

  constructor(private readonly maxQueued = 1000) {}

  list(): AlertChanged[] {
    return [...this.active.values()];
  }

  /** Records a change; a resolved alert leaves the active set. */
  publish(change: AlertChanged, key: string): void {
    if (change.state === AlertState.RESOLVED) this.active.delete(key);
    else this.active.set(key, change);
    for (const w of this.watchers) w.push(change);
  }

  /** Every active alert, then each change, until `signal` aborts. */
  async *watch(signal: AbortSignal): AsyncGenerator<AlertChanged> {
    const watcher = new Watcher(this.maxQueued);
    this.watchers.add(watcher);
    const onAbort = () => watcher.end();
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      for (const a of this.list()) yield a;
      for (;;) {
        const next = await watcher.next();
        if (next === undefined) return;
        yield next;
      }
    } finally {
      signal.removeEventListener("abort", onAbort);
      this.watchers.delete(watcher);
    }
  }

  close(): void {
    for (const w of this.watchers) w.end();
  }
}

class Watcher {
  private readonly queue: AlertChanged[] = [];
  private wake: (() => void) | undefined;
  private ended = false;

  constructor(private readonly max: number) {}

  push(change: AlertChanged): void {
    if (this.ended) return;
    if (this.queue.length >= this.max) {
      this.end();
      return;
    }
    this.queue.push(change);
    this.wake?.();
  }

  end(): void {
    this.ended = true;
    this.wake?.();
  }

  async next(): Promise<AlertChanged | undefined> {
    while (this.queue.length === 0 && !this.ended) await new Promise<void>((resolve) => (this.wake = resolve));
    this.wake = undefined;
    return this.queue.shift();
  }
}
