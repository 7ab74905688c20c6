import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ShadowComparisonSchema } from "../../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { ShadowBook } from "./shadow-book.js";

const comparison = (fields: Parameters<typeof create<typeof ShadowComparisonSchema>>[1]) =>
  create(ShadowComparisonSchema, { model: "fraud", primaryVersion: 1, shadowVersion: 2, primaryLatencyUs: 2000n, shadowLatencyUs: 4000n, ...fields });

describe("ShadowBook", () => {
  it("sums comparisons per model and version pair: differences, mismatches, failures, latencies", () => {
    const book = new ShadowBook();
    book.observe(comparison({ maxAbsDifference: 0.5 }), 10);
    book.observe(comparison({ maxAbsDifference: 0.1, mismatch: true }), 20);
    book.observe(comparison({ shadowErrorCode: "DeadlineExceeded" }), 30);
    book.observe(comparison({ shadowVersion: 3 }), 40);
    const [two, three] = book.summaries();
    expect(two).toMatchObject({ model: "fraud", primaryVersion: 1, shadowVersion: 2, compared: 2, mismatched: 1, failed: 1, maxAbsDifference: 0.5, meanPrimaryLatencyMs: 2, meanShadowLatencyMs: 4, lastTimeMs: 30 });
    expect(two!.meanMaxAbsDifference).toBeCloseTo(0.3);
    expect(three).toMatchObject({ shadowVersion: 3, compared: 1, maxAbsDifference: 0 });
  });
});
