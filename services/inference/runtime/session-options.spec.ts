import { describe, expect, it } from "vitest";
import { sessionOptionsFor, type SessionTuning } from "./session-options.js";

const tuning: SessionTuning = { intraOpThreads: 0, interOpThreads: 0, graphOptimization: "all", memoryArena: true, spinning: false };

describe("sessionOptionsFor()", () => {
  it("puts the CUDA provider for the GPU first, with the CPU after it for what CUDA lacks", () => {
    expect(sessionOptionsFor({ kind: "cuda", index: 1 }, tuning).executionProviders).toEqual([{ name: "cuda", deviceId: 1 }, "cpu"]);
  });

  it("uses only the CPU provider on cpu", () => {
    expect(sessionOptionsFor({ kind: "cpu" }, tuning).executionProviders).toEqual(["cpu"]);
  });

  it("leaves thread counts to ONNX Runtime when 0", () => {
    const options = sessionOptionsFor({ kind: "cpu" }, tuning);
    expect(options.intraOpNumThreads).toBeUndefined();
    expect(options.interOpNumThreads).toBeUndefined();
    expect(options.executionMode).toBe("sequential");
  });

  it("passes threads, optimization level and arena through", () => {
    const options = sessionOptionsFor({ kind: "cpu" }, { intraOpThreads: 2, interOpThreads: 4, graphOptimization: "basic", memoryArena: false, spinning: false });
    expect(options).toMatchObject({
      intraOpNumThreads: 2,
      interOpNumThreads: 4,
      executionMode: "parallel",
      graphOptimizationLevel: "basic",
      enableCpuMemArena: false,
    });
  });

  it("keeps ONNX Runtime's thread pools from spinning between runs unless asked to", () => {
    const pools = (spinning: boolean) => {
      const session = (sessionOptionsFor({ kind: "cpu" }, { ...tuning, spinning }).extra as { session: Record<string, { allow_spinning: string }> }).session;
      return [session.intra_op!.allow_spinning, session.inter_op!.allow_spinning];
    };
    expect(pools(false)).toEqual(["0", "0"]);
    expect(pools(true)).toEqual(["1", "1"]);
  });
});
