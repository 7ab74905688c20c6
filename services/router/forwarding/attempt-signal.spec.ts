import { describe, expect, it } from "vitest";
import { attemptSignal, cancelsUpstreamAtOnce, LATE_CANCEL_WINDOW_MS } from "./attempt-signal.js";

describe("cancelsUpstreamAtOnce()", () => {
  const window = { startMs: 1_000, deadlineMs: 1_300, callerHasDeadline: true };

  it("cancels at once early in the attempt", () => {
    expect(cancelsUpstreamAtOnce(window, 1_100)).toBe(true);
  });

  it("lets the hop run to its deadline for a cancel late in it", () => {
    expect(cancelsUpstreamAtOnce(window, 1_200)).toBe(false);
    expect(cancelsUpstreamAtOnce(window, 1_299)).toBe(false);
  });

  it("always cancels at once for a caller without a deadline", () => {
    expect(cancelsUpstreamAtOnce({ ...window, callerHasDeadline: false }, 1_299)).toBe(true);
  });

  it("never defers by more than the late window", () => {
    const long = { startMs: 0, deadlineMs: 600_000, callerHasDeadline: true };
    expect(cancelsUpstreamAtOnce(long, 400_000)).toBe(true);
    expect(cancelsUpstreamAtOnce(long, 600_000 - LATE_CANCEL_WINDOW_MS + 1)).toBe(false);
  });
});

describe("attemptSignal()", () => {
  it("follows an early cancel and ignores a late one", () => {
    let now = 1_000;
    const window = { startMs: 1_000, deadlineMs: 1_300, callerHasDeadline: true };
    const early = new AbortController();
    const a = attemptSignal(early.signal, window, () => now);
    now = 1_050;
    early.abort();
    expect(a.signal.aborted).toBe(true);

    const late = new AbortController();
    const b = attemptSignal(late.signal, window, () => now);
    now = 1_250;
    late.abort();
    expect(b.signal.aborted).toBe(false);
  });

  it("detaches on release", () => {
    const caller = new AbortController();
    const a = attemptSignal(caller.signal, { startMs: 0, deadlineMs: 10, callerHasDeadline: false });
    a.release();
    caller.abort();
    expect(a.signal.aborted).toBe(false);
  });
});
