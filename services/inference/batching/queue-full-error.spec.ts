import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { queueFullError, suggestRetryMs } from "./queue-full-error.js";

describe("suggestRetryMs()", () => {
  const cases: { name: string; load: Parameters<typeof suggestRetryMs>[0]; want: number }[] = [
    { name: "queued runs times the mean run over the instances", load: { queuedRows: 64, maxBatchSize: 8, meanRunUs: 5000, instances: 2 }, want: 20 },
    { name: "at least 10 ms", load: { queuedRows: 1, maxBatchSize: 8, meanRunUs: 100, instances: 1 }, want: 10 },
    { name: "at most 10 s", load: { queuedRows: 100_000, maxBatchSize: 1, meanRunUs: 100_000, instances: 1 }, want: 10_000 },
    { name: "10 ms a run before any was measured", load: { queuedRows: 4, maxBatchSize: 0, meanRunUs: undefined, instances: 1 }, want: 40 },
  ];
  it.each(cases)("suggests $name", ({ load, want }) => {
    expect(suggestRetryMs(load)).toBe(want);
  });
});

describe("queueFullError()", () => {
  it("is RESOURCE_EXHAUSTED with the retry delay in the message and the gRPC pushback metadata", () => {
    const err = queueFullError({ scope: "model", limit: 1024 }, 1, 25);
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.message).toContain("1024 requests waiting");
    expect(err.message).toContain("retry in about 25 ms");
    expect(err.metadata.get("grpc-retry-pushback-ms")).toBe("25");
  });

  it("names the priority level when that level is full", () => {
    expect(queueFullError({ scope: "priority", limit: 3 }, 2, 10).message).toContain("queue for priority 2 is full");
  });
});
