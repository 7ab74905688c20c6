import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../errors/index.js";
import { DataType, SignatureSchema, type Signature } from "../gen/tessera/registry/v1/signature_pb.js";
import { checkBatchable } from "./check-batchable.js";

const spec = (name: string, dims: number[]) => ({
  name,
  dtype: DataType.FLOAT32,
  shape: dims.map((d) => ({ size: BigInt(d) })),
});
const signature = (inputs: ReturnType<typeof spec>[], outputs: ReturnType<typeof spec>[]): Signature =>
  create(SignatureSchema, { inputs, outputs });

describe("checkBatchable()", () => {
  const cases: { name: string; sig: Signature; enabled: boolean; error?: string }[] = [
    { name: "dynamic leading dims everywhere", sig: signature([spec("x", [-1, 4])], [spec("y", [-1, 2])]), enabled: true },
    { name: "a fixed input while batching is off", sig: signature([spec("x", [1, 4])], [spec("y", [1])]), enabled: false },
    {
      name: "a fixed leading input dim",
      sig: signature([spec("x", [1, 4])], [spec("y", [-1])]),
      enabled: true,
      error: "batching needs a dynamic leading dimension; input 'x' has shape [1,4]",
    },
    {
      name: "a fixed leading output dim",
      sig: signature([spec("x", [-1, 4])], [spec("y", [3])]),
      enabled: true,
      error: "output 'y' has shape [3]",
    },
    { name: "a scalar input", sig: signature([spec("s", [])], [spec("y", [-1])]), enabled: true, error: "input 's' has shape []" },
  ];
  it.each(cases)("handles $name", ({ sig, enabled, error }) => {
    if (!error) {
      expect(() => checkBatchable(sig, { enabled })).not.toThrow();
      return;
    }
    let caught: unknown;
    try {
      checkBatchable(sig, { enabled });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConnectError);
    expect((caught as ConnectError).code).toBe(Code.FailedPrecondition);
    expect((caught as ConnectError).message).toContain(error);
  });

  it("accepts any model when there is no batching config", () => {
    expect(() => checkBatchable(signature([spec("x", [1])], []), undefined)).not.toThrow();
  });
});
