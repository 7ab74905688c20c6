import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ModelStatisticsSchema } from "../../../libs/gen/inference/grpc_service_pb.js";
import { BatchStatsRecorder } from "./batch-stats.js";

describe("BatchStatsRecorder", () => {
  it("counts runs per batch size and requests per outcome", () => {
    const r = new BatchStatsRecorder();
    r.recordRun(4, { inputUs: 1, inferUs: 10, outputUs: 2 }, 1_700_000_000_000);
    r.recordRun(4, { inputUs: 3, inferUs: 20, outputUs: 2 }, 1_700_000_000_005);
    r.recordRun(1, { inputUs: 0, inferUs: 5, outputUs: 0 }, 1_700_000_000_009);
    r.recordSuccess(3, 40, 7, { inputUs: 1, inferUs: 10, outputUs: 2 });
    r.recordFailure(12);
    r.count("queueFull");
    const s = r.snapshot();
    expect(s.executionCount).toBe(3n);
    expect(s.inferenceCount).toBe(3n);
    expect(s.lastInference).toBe(1_700_000_000_009n);
    expect(s.batchStats.map((b) => [b.batchSize, b.computeInfer.count, b.computeInfer.ns])).toEqual([
      [1n, 1n, 5000n],
      [4n, 2n, 30000n],
    ]);
    expect(s.inferenceStats.success).toEqual({ count: 1n, ns: 40000n });
    expect(s.inferenceStats.queue).toEqual({ count: 1n, ns: 7000n });
    expect(s.inferenceStats.fail).toEqual({ count: 1n, ns: 12000n });
    expect(s.outcomes.queueFull).toBe(1);
  });

  it("fills an OIP ModelStatistics as it is", () => {
    const r = new BatchStatsRecorder();
    r.recordRun(2, { inputUs: 1, inferUs: 2, outputUs: 3 }, 5);
    const { lastInference, inferenceCount, executionCount, inferenceStats, batchStats } = r.snapshot();
    const msg = create(ModelStatisticsSchema, { name: "m", version: "1", lastInference, inferenceCount, executionCount, inferenceStats, batchStats });
    expect(msg.batchStats[0]?.batchSize).toBe(2n);
    expect(msg.batchStats[0]?.computeOutput?.ns).toBe(3000n);
  });

  it("keeps a moving average of a run's duration", () => {
    const r = new BatchStatsRecorder();
    expect(r.meanRunUs).toBeUndefined();
    r.recordRun(1, { inputUs: 0, inferUs: 800, outputUs: 0 }, 0);
    r.recordRun(1, { inputUs: 0, inferUs: 1600, outputUs: 0 }, 0);
    expect(r.meanRunUs).toBe(900);
  });
});
