import type { AbortLike } from "../../../libs/host/index.js";

/** One request as the queue sees it. `payload` is the driver's, never read here. */
export interface QueuedRequest<T = unknown> {
  readonly id: number;
  /** Rows in the request (dimension 0 of every input). */
  readonly rows: number;
  /** 1..priorityLevels; 1 is served first. */
  readonly priority: number;
  /** batchKey(): requests batch together only when equal. */
  readonly key: string;
  /** When it was queued, µs (Clock). */
  readonly enqueuedUs: number;
  /** When its queue timeout passes, µs; undefined: none. */
  readonly timeoutAtUs?: number | undefined;
  /** When its caller stops waiting, µs; undefined: none. */
  readonly deadlineUs?: number | undefined;
  /** Its caller's cancellation. */
  readonly signal?: AbortLike | undefined;
  readonly payload: T;
}

/** Why a queue cannot take a request. */
export interface QueueFull {
  readonly scope: "model" | "priority";
  readonly limit: number;
}

interface Slot<T> {
  readonly request: QueuedRequest<T>;
  /** Rows not yet handed to a batch (less than `rows` once an oversized request has been split). */
  remaining: number;
  /** Its queue timeout passed under the "delay" policy: it now goes after everything else. */
  demoted: boolean;
}

/**
 * Requests waiting for a batch: one FIFO per priority level, then one FIFO
 * per level of demoted requests (queue timeout passed, "delay" policy), which
 * come after every request that has not timed out. Pure bookkeeping; the cut
 * is decided by nextBatch().
 */
export class BatchQueue<T = unknown> {
  private readonly levels: Slot<T>[][];
  private readonly demoted: Slot<T>[][];
  private readonly byId = new Map<number, Slot<T>>();

  /**
   * @param maxSize most requests over all levels.
   * @param levelMaxSizes most requests per level (index level - 1); 0: no own limit.
   */
  constructor(
    readonly priorityLevels: number,
    private readonly maxSize: number = Number.POSITIVE_INFINITY,
    private readonly levelMaxSizes: readonly number[] = [],
  ) {
    this.levels = Array.from({ length: priorityLevels }, () => []);
    this.demoted = Array.from({ length: priorityLevels }, () => []);
  }

  /** Requests queued, over all levels (a partly run oversized request counts until its last rows run). */
  get size(): number {
    return this.byId.size;
  }

  /** Requests queued at one level, demoted ones included. */
  sizeOf(priority: number): number {
    return (this.levels[priority - 1]?.length ?? 0) + (this.demoted[priority - 1]?.length ?? 0);
  }

  /** Rows not yet handed to a batch, over all requests. */
  get rows(): number {
    let rows = 0;
    for (const slot of this.byId.values()) rows += slot.remaining;
    return rows;
  }

  /** Why a request of this priority cannot be queued now, or undefined when it can. */
  full(priority: number): QueueFull | undefined {
    if (this.byId.size >= this.maxSize) return { scope: "model", limit: this.maxSize };
    const levelMax = this.levelMaxSizes[priority - 1] ?? 0;
    if (levelMax > 0 && this.sizeOf(priority) >= levelMax) return { scope: "priority", limit: levelMax };
    return undefined;
  }

  /** Queues a request at the back of its level. Check full() first. */
  push(request: QueuedRequest<T>): void {
    const level = this.levels[request.priority - 1];
    if (!level) throw new RangeError(`priority ${request.priority} is outside 1..${this.priorityLevels}`);
    if (this.byId.has(request.id)) throw new RangeError(`request ${request.id} is already queued`);
    const slot: Slot<T> = { request, remaining: request.rows, demoted: false };
    level.push(slot);
    this.byId.set(request.id, slot);
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  /** Rows of a queued request not yet handed to a batch; 0 when not queued. */
  remaining(id: number): number {
    return this.byId.get(id)?.remaining ?? 0;
  }

  isDemoted(id: number): boolean {
    return this.byId.get(id)?.demoted ?? false;
  }

  /** Takes a request out, whatever its state; returns it, or undefined when not queued. */
  remove(id: number): QueuedRequest<T> | undefined {
    const slot = this.byId.get(id);
    if (!slot) return undefined;
    this.byId.delete(id);
    const list = (slot.demoted ? this.demoted : this.levels)[slot.request.priority - 1];
    if (list) list.splice(list.indexOf(slot), 1);
    return slot.request;
  }

  /** Moves a request behind every request that has not timed out (TIMEOUT_ACTION_DELAY). */
  demote(id: number): void {
    const slot = this.byId.get(id);
    if (!slot || slot.demoted) return;
    const i = slot.request.priority - 1;
    const from = this.levels[i];
    if (from) from.splice(from.indexOf(slot), 1);
    slot.demoted = true;
    this.demoted[i]?.push(slot);
  }

  /**
   * Hands `rows` of a request's remaining rows to a batch; returns the first
   * of them. The request leaves the queue with its last rows.
   */
  take(id: number, rows: number): number {
    const slot = this.byId.get(id);
    if (!slot || rows < 1 || rows > slot.remaining) {
      throw new RangeError(`cannot take ${rows} rows of request ${id} (${slot?.remaining ?? 0} left)`);
    }
    const start = slot.request.rows - slot.remaining;
    slot.remaining -= rows;
    if (slot.remaining === 0) this.remove(id);
    return start;
  }

  /**
   * Every queued request, in the order they are served: level 1 first, FIFO,
   * demoted last. A snapshot, so the queue may change while it is walked.
   */
  [Symbol.iterator](): IterableIterator<QueuedRequest<T>> {
    return this.inOrder()[Symbol.iterator]();
  }

  /** The snapshot behind the iterator: one array, built on every cut (no generator, no copy per level). */
  private inOrder(): QueuedRequest<T>[] {
    const out: QueuedRequest<T>[] = [];
    for (const lists of [this.levels, this.demoted]) {
      for (let l = 0; l < lists.length; l++) {
        const list = lists[l]!;
        for (let i = 0; i < list.length; i++) out.push(list[i]!.request);
      }
    }
    return out;
  }

  /** The first request to be served, if any. */
  head(): QueuedRequest<T> | undefined {
    for (const lists of [this.levels, this.demoted]) for (const list of lists) if (list[0]) return list[0].request;
    return undefined;
  }

  /** When the longest-waiting request was queued, µs; undefined when empty. */
  oldestEnqueuedUs(): number | undefined {
    let oldest: number | undefined;
    for (const slot of this.byId.values()) {
      if (oldest === undefined || slot.request.enqueuedUs < oldest) oldest = slot.request.enqueuedUs;
    }
    return oldest;
  }
}
