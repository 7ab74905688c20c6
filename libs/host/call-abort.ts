/**
 * The part of an AbortSignal that a request path reads: whether the call
 * was aborted, why, and a listener for when it is. An AbortSignal is one;
 * so is a gRPC call's own CallAbort, which costs far less.
 */
export interface AbortLike {
  readonly aborted: boolean;
  readonly reason: unknown;
  addEventListener(type: "abort", listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: "abort", listener: () => void): void;
}

/**
 * An AbortLike without an EventTarget behind it. Making an AbortSignal
 * costs about 5 µs, and with a listener and its abort about 9 µs (Node 20,
 * this box), which is 3 % of a one-row Predict; this costs well under one.
 * As with an AbortSignal: each listener is called once, in the order added;
 * one added after the abort is never called; one that throws does not stop
 * the others (its error surfaces as an uncaught exception, as an
 * EventTarget reports it).
 */
export class CallAbort implements AbortLike {
  private ended = false;
  private why: unknown = undefined;
  private listeners: (() => void)[] | undefined;

  get aborted(): boolean {
    return this.ended;
  }

  get reason(): unknown {
    return this.why;
  }

  addEventListener(_type: "abort", listener: () => void): void {
    if (!this.ended) (this.listeners ??= []).push(listener);
  }

  removeEventListener(_type: "abort", listener: () => void): void {
    const i = this.listeners?.indexOf(listener) ?? -1;
    if (i >= 0) this.listeners!.splice(i, 1);
  }

  /** Aborts with `reason` (the first reason wins) and calls the listeners. */
  abort(reason: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.why = reason;
    const listeners = this.listeners;
    this.listeners = undefined;
    for (const listener of listeners ?? []) {
      try {
        listener();
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }
}
