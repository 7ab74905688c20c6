/** A late cancel defers the upstream one by at most this long. */
export const LATE_CANCEL_WINDOW_MS = 1_000;

export interface AttemptWindow {
  startMs: number;
  /** The hop's own deadline (absolute ms): the upstream call ends by then whatever the caller does. */
  deadlineMs: number;
  /** Whether the caller sent a deadline: without one, no cancel can be its deadline lapsing. */
  callerHasDeadline: boolean;
}

/**
 * Whether the caller's cancel, arriving at `nowMs`, should cancel the
 * upstream call at once. A cancel early in the attempt (a person giving up)
 * does. One in the attempt's second half and within LATE_CANCEL_WINDOW_MS of
 * the hop's deadline, from a caller that set a deadline, is most likely that
 * deadline lapsing a little before the router's (the caller's clock starts
 * before the request's transit): the upstream call then runs on to its own
 * deadline, so what the replica does — answer, or time out — decides how it
 * is counted, never the caller's cancel.
 */
export function cancelsUpstreamAtOnce(window: AttemptWindow, nowMs: number): boolean {
  if (!window.callerHasDeadline) return true;
  const left = window.deadlineMs - nowMs;
  return nowMs - window.startMs < (window.deadlineMs - window.startMs) / 2 || left > LATE_CANCEL_WINDOW_MS;
}

/**
 * The signal one attempt's upstream call runs under: follows `caller` as
 * cancelsUpstreamAtOnce says. `release` detaches it once the attempt is over.
 */
export function attemptSignal(caller: AbortSignal, window: AttemptWindow, now: () => number = Date.now): { signal: AbortSignal; release(): void } {
  const controller = new AbortController();
  const onAbort = () => {
    if (cancelsUpstreamAtOnce(window, now())) controller.abort();
  };
  if (caller.aborted) onAbort();
  else caller.addEventListener("abort", onAbort, { once: true });
  return { signal: controller.signal, release: () => caller.removeEventListener("abort", onAbort) };
}
