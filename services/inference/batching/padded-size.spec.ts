import { describe, expect, it } from "vitest";
import { resolveBatchingOptions } from "../../../libs/batching/index.js";
import { paddedSize } from "./padded-size.js";

describe("paddedSize()", () => {
  const padded = resolveBatchingOptions(undefined, { enabled: true, maxBatchSize: 16, preferredBatchSizes: [4, 8], padToPreferred: true });
  const plain = resolveBatchingOptions(undefined, { enabled: true, maxBatchSize: 16, preferredBatchSizes: [4, 8] });
  const cases: { rows: number; options: typeof padded; want: number }[] = [
    { rows: 1, options: padded, want: 4 },
    { rows: 4, options: padded, want: 4 },
    { rows: 5, options: padded, want: 8 },
    { rows: 9, options: padded, want: 16 },
    { rows: 5, options: plain, want: 5 },
  ];
  it.each(cases)("runs $rows rows as $want", ({ rows, options, want }) => {
    expect(paddedSize(rows, options)).toBe(want);
  });
});
