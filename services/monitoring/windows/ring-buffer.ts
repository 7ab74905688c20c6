/** The last `capacity` values pushed, oldest dropped first; fixed memory. */
export class RingBuffer<T> {
  private readonly items: T[] = [];
  private next = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity >= 1)) throw new RangeError(`RingBuffer capacity must be an integer >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.items.length;
  }

  push(value: T): void {
    if (this.items.length < this.capacity) this.items.push(value);
    else this.items[this.next] = value;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Oldest first. */
  values(): T[] {
    if (this.items.length < this.capacity) return [...this.items];
    return [...this.items.slice(this.next), ...this.items.slice(0, this.next)];
  }
}
