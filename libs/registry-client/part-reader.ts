/**
 * Cuts one stream of chunks into consecutive parts of known sizes (an
 * artifact's files sent back to back), handing on slices of the chunks as
 * they arrive: nothing is copied or held beyond the chunk being cut.
 */
export class PartReader {
  private pending: Uint8Array | undefined;
  private done = false;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /**
   * The next `size` bytes, in chunks. Ends early when the source does (the
   * caller counts what it got); read each part to its end before the next.
   */
  async *take(size: number): AsyncGenerator<Uint8Array> {
    let left = size;
    while (left > 0) {
      const chunk = await this.next();
      if (chunk === undefined) return;
      if (chunk.byteLength > left) {
        this.pending = chunk.subarray(left);
        left = 0;
        yield chunk.subarray(0, chunk.byteLength - this.pending.byteLength);
      } else {
        left -= chunk.byteLength;
        yield chunk;
      }
    }
  }

  /** Whether the source has bytes beyond the parts taken (reads at most one more chunk to know). */
  async hasMore(): Promise<boolean> {
    const chunk = await this.next();
    if (chunk === undefined) return false;
    this.pending = chunk;
    return true;
  }

  private async next(): Promise<Uint8Array | undefined> {
    for (;;) {
      if (this.pending !== undefined) {
        const chunk = this.pending;
        this.pending = undefined;
        if (chunk.byteLength > 0) return chunk;
        continue;
      }
      if (this.done) return undefined;
      const next = await this.source.next();
      if (next.done) {
        this.done = true;
        return undefined;
      }
      if (next.value.byteLength > 0) return next.value;
    }
  }
}
