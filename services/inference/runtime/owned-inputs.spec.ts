import { describe, expect, it } from "vitest";
import * as ort from "onnxruntime-node";
import { resolveBatchingOptions } from "../../../libs/batching/index.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { silentLogger } from "../../../libs/log/index.js";
import { mulberry32, readSignature } from "../../../libs/onnx/index.js";
import { exampleModel } from "../../../mesh/models/index.js";
import { createModelRunner } from "./model-runner.js";

const fraud = exampleModel("fraud").build();

// Inputs move to the session's thread instead of being copied (wire-tensors.ts), or are read
// where they lie on the event loop: whatever a run shares, splits or moves, every caller must
// get exactly its own rows, bit-identical whichever placement the sessions have.
describe.each([
  ["thread", 2],
  ["event-loop", 1],
] as const)("a model runner with its sessions on %s placement (%i instances)", (placement, instanceCount) => {
  it("answers each request bit for bit as a session run on that request alone", async () => {
    const signature = readSignature(fraud);
    const runner = await createModelRunner({
      model: fraud,
      signature,
      batching: resolveBatchingOptions(undefined, { enabled: true, maxBatchSize: 8, maxQueueDelayUs: 500, splitOversized: true }),
      device: { kind: "cpu" },
      tuning: { intraOpThreads: 1, interOpThreads: 0, graphOptimization: "all", memoryArena: true, spinning: false },
      instanceCount,
      placement,
      label: "fraud@1",
      logger: silentLogger,
    });
    expect(runner.placement.placement).toBe(placement);
    const direct = await ort.InferenceSession.create(fraud, { intraOpNumThreads: 1 });
    try {
      const rand = mulberry32(0x5eed);
      const cases = await Promise.all(
        Array.from({ length: 48 }, async () => {
          const rows = 1 + Math.floor(rand() * 11); // some over max_batch_size: split across runs
          const data = Float32Array.from({ length: rows * 16 }, () => (rand() - 0.5) * 8);
          const alone = (await direct.run({ features: new ort.Tensor("float32", data.slice(), [rows, 16]) })).score!.data as Float32Array;
          return { rows, data, alone };
        }),
      );
      const answers = await Promise.all(
        cases.map(({ rows, data }) => runner.infer({ inputs: new Map([["features", { dtype: DataType.FLOAT32, shape: [rows, 16], data }]]), rows })),
      );
      answers.forEach((answer, i) => {
        const score = answer.outputs.get("score")!;
        const expected = cases[i]!.alone;
        expect(score.shape).toEqual([cases[i]!.rows, 1]);
        expect(Buffer.from((score.data as Float32Array).slice().buffer)).toEqual(Buffer.from(expected.slice().buffer));
      });
      expect(answers.some((a) => a.batchSize > 1)).toBe(true);
    } finally {
      await direct.release();
      await runner.release();
    }
  });
});
