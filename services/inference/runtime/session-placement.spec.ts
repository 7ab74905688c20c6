import { describe, expect, it } from "vitest";
import { choosePlacement, EVENT_LOOP_MAX_MODEL_BYTES, EVENT_LOOP_MAX_RUN_US, lowerQuartile, placementBeforeTiming, type PlacementInputs } from "./session-placement.js";

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

  it("auto: a small model on the CPU with one instance is timed, then placed by its lower-quartile run", () => {
    expect(placementBeforeTiming(small)).toBeUndefined();
    expect(placementBeforeTiming({ ...small, modelBytes: EVENT_LOOP_MAX_MODEL_BYTES })).toBeUndefined();
    // Contention only adds time: two of five slowed far past the bound still place it by its quick runs.
    const fast = timed([20, 900, 22, 21, 400]);
    expect(fast).toEqual({ placement: "event-loop", runUs: 21, reason: `auto: lower-quartile run 21 µs at 8 rows (5 runs), model 5000 bytes, under the ${EVENT_LOOP_MAX_RUN_US} µs a hop to a session thread costs` });
    const slow = timed([EVENT_LOOP_MAX_RUN_US, EVENT_LOOP_MAX_RUN_US + 1, 1, EVENT_LOOP_MAX_RUN_US + 5, EVENT_LOOP_MAX_RUN_US + 9]);
    expect(slow).toMatchObject({ placement: "thread", runUs: EVENT_LOOP_MAX_RUN_US, reason: expect.stringMatching(/not under/) });
  });

  it("auto: no timing to go by means threads", () => {
    expect(timed([]).placement).toBe("thread");
    expect(timed([Number.NaN, Number.NaN]).reason).toMatch(/lower-quartile run unknown/);
  });

  it("takes the lower quartile by nearest rank below, skipping NaN", () => {
    expect(lowerQuartile([3, 1, 2])).toBe(1);
    expect(lowerQuartile([5, 1, 4, 2, 3])).toBe(2);
    expect(lowerQuartile([9, 8, 7, 6, 5, 4, 3, 2, 1])).toBe(3);
    expect(lowerQuartile([Number.NaN, 5])).toBe(5);
    expect(lowerQuartile([])).toBeNaN();
  });
});
