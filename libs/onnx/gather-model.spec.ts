import * as ort from "onnxruntime-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildGatherModel, gatherReference, GATHER_WIDTH } from "./gather-model.js";

describe("buildGatherModel()", () => {
  let session: ort.InferenceSession;
  beforeAll(async () => {
    // The failing runs below are expected; keep onnxruntime from printing each one.
    ort.env.logLevel = "fatal";
    session = await ort.InferenceSession.create(buildGatherModel());
  });
  afterAll(async () => {
    await session.release();
  });

  const x = Float32Array.from({ length: 3 * GATHER_WIDTH }, (_, i) => i / 10);
  const run = (idx: BigInt64Array) =>
    session.run({
      x: new ort.Tensor("float32", x.subarray(0, idx.length * GATHER_WIDTH), [idx.length, GATHER_WIDTH]),
      idx: new ort.Tensor("int64", idx, [idx.length]),
    });

  it("computes x + table[idx] exactly as gatherReference does (to the bit)", async () => {
    const idx = BigInt64Array.of(0n, 7n, -1n);
    const result = await run(idx);
    expect(result.y?.dims).toEqual([3, GATHER_WIDTH]);
    expect(Array.from(result.y?.data as Float32Array)).toEqual(Array.from(gatherReference({}, x, idx)));
  });

  it.each([[8n], [100n], [-9n]])("makes onnxruntime fail the run for idx %s", async (bad) => {
    await expect(run(BigInt64Array.of(1n, bad))).rejects.toThrow(/out of (data )?bounds|indices/i);
  });

  it("still runs after a failed run: the fault is per request", async () => {
    await expect(run(BigInt64Array.of(8n))).rejects.toThrow();
    const result = await run(BigInt64Array.of(2n));
    expect(Array.from(result.y?.data as Float32Array)).toEqual(Array.from(gatherReference({}, x, BigInt64Array.of(2n))));
  });
});

describe("gatherReference()", () => {
  it("throws on an index outside -8..7", () => {
    expect(() => gatherReference({}, new Float32Array(GATHER_WIDTH), BigInt64Array.of(8n))).toThrow(/outside -8..7/);
  });
});
