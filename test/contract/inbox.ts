/**
 * Collects values delivered by callbacks (watchers, subscribers) so a test
 * can wait for the first n, instead of sleeping. Waits end with vitest's
 * test timeout if the values never come.
 */
export class Inbox<T> {
  readonly items: T[] = [];
  #waiters: { n: number; resolve: (items: T[]) => void }[] = [];

  push = (item: T): void => {
    this.items.push(item);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.items.length < w.n) return true;
      w.resolve(this.items.slice(0, w.n));
      return false;
    });
  };

  /** Resolves with the first `n` items once that many arrived. */
  first(n: number): Promise<T[]> {
    if (this.items.length >= n) return Promise.resolve(this.items.slice(0, n));
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }
}
