import { describe, expect, it } from "vitest";
import { choosePlacement, EVENT_LOOP_MAX_MODEL_BYTES, EVENT_LOOP_MAX_RUN_US, median, placementBeforeTiming, type PlacementInputs } from "./session-placement.js";

const small: PlacementInputs = { setting: "auto", device: { kind: "cpu" }, instanceCount: 1, modelBytes: 5_000 };
const timed = (runsUs: number[], inputs: Partial<PlacementInputs> = {}) => choosePlacement({ ...small, ...inputs, runsUs, rows: 8 });

describe("session placement", () => {
  it("takes an explicit setting as asked, on any device and instance count", () => {
    expect(placementBeforeTiming({ ...small, setting: "thread" })).toEqual({ placement: "thread", reason: "asked for (TESSERA_SESSION_PLACEMENT=thread)" });
    expect(placementBeforeTiming({ ...small, setting: "event-loop", device: { kind: "cuda", index: 0 } })?.placement).toBe("event-loop");
    expect(timed([1_000_000], { setting: "event-loop" }).placement).toBe("event-loop");
    expect(timed([1], { setting: "thread" }).placement).toBe("thread");
  });

  it("auto: threads on a GPU, with several instances, or for a big or unsized model, without timing a run", () => {
    expect(placementBeforeTiming({ ...small, device: { kind: "cuda", index: 1 } })).toMatchObject({ placement: "thread", reason: expect.stringMatching(/GPU/) });
    expect(placementBeforeTiming({ ...small, instanceCount: 2 })).toMatchObject({ placement: "thread", reason: expect.stringMatching(/instance_count 2 > 1/) });
    expect(placementBeforeTiming({ ...small, modelBytes: EVENT_LOOP_MAX_MODEL_BYTES + 1 })).toMatchObject({ placement: "thread", reason: expect.stringMatching(new RegExp(`${EVENT_LOOP_MAX_MODEL_BYTES + 1} bytes, over`)) });
    expect(placementBeforeTiming({ ...small, modelBytes: undefined })).toMatchObject({ placement: "thread", reason: expect.stringMatching(/unknown size/) });
    // However fast the run, these never reach the event loop.
    expect(timed([1], { device: { kind: "cuda", index: 0 } }).placement).toBe("thread");
    expect(timed([1], { instanceCount: 4 }).placement).toBe("thread");
  });

  it("auto: a small model on the CPU with one instance is timed, then placed by its median run", () => {
    expect(placementBeforeTiming(small)).toBeUndefined();
    expect(placementBeforeTiming({ ...small, modelBytes: EVENT_LOOP_MAX_MODEL_BYTES })).toBeUndefined();
    const fast = timed([20, 900, 22, 21, 25]);
    expect(fast).toEqual({ placement: "event-loop", runUs: 22, reason: `auto: median run 22 µs at 8 rows (5 runs), model 5000 bytes, under the ${EVENT_LOOP_MAX_RUN_US} µs a hop to a session thread costs` });
    const slow = timed([EVENT_LOOP_MAX_RUN_US, EVENT_LOOP_MAX_RUN_US + 1, 1]);
    expect(slow).toMatchObject({ placement: "thread", runUs: EVENT_LOOP_MAX_RUN_US, reason: expect.stringMatching(/not under/) });
  });

  it("auto: no timing to go by means threads", () => {
    expect(timed([]).placement).toBe("thread");
    expect(timed([Number.NaN, Number.NaN]).reason).toMatch(/median run unknown/);
  });

  it("takes the median, skipping NaN", () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([Number.NaN, 5])).toBe(5);
    expect(median([])).toBeNaN();
  });
});
