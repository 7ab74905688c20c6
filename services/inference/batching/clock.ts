/**
 * Time for the batcher. Injected so the queue and the cut decision can be
 * tested with a fake clock.
 */
export interface Clock {
  /** Microseconds on a monotonic timeline; only differences mean anything. */
  now(): number;
  /** Wall-clock time, epoch ms: to place a caller's deadline on the `now()` timeline, and for stats. */
  wallMs(): number;
}

/**
 * The process clock. `now()` is monotonic (`performance.now()`), so a
 * wall-clock step (NTP) never makes a request look older or younger than it
 * is; deadlines are converted through `wallMs()` once, at submit, as the
 * time left, so the two clocks drifting apart over weeks does not matter.
 */
export const systemClock: Clock = {
  now: () => performance.now() * 1000,
  wallMs: () => Date.now(),
};
