import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { DurationSchema } from "@bufbuild/protobuf/wkt";
import { detachBytes, errorFromWire, errorToWire } from "./loop-wire.js";

describe("errorToWire / errorFromWire", () => {
  it("carry a ConnectError's code, message, metadata and details across a structured clone", () => {
    const error = new ConnectError("queue is full; retry", Code.ResourceExhausted, { "grpc-retry-pushback-ms": "20" }, [{ desc: DurationSchema, value: { seconds: 3n } }]);
    const back = errorFromWire(structuredClone(errorToWire(error)));
    expect(back.code).toBe(Code.ResourceExhausted);
    expect(back.rawMessage).toBe("queue is full; retry");
    expect(back.metadata.get("grpc-retry-pushback-ms")).toBe("20");
    expect(back.findDetails(DurationSchema)).toEqual([expect.objectContaining({ seconds: 3n })]);
  });

  it("turn anything thrown into the ConnectError a single loop would answer", () => {
    const back = errorFromWire(errorToWire(new Error("boom")));
    expect(back.code).toBe(Code.Unknown);
    expect(back.rawMessage).toBe("boom");
  });
});

describe("detachBytes", () => {
  it("replaces views into a larger buffer with copies of their own bytes, and lists the copies for transfer", () => {
    const frame = new Uint8Array([9, 1, 2, 3, 9, 4, 5, 9]);
    const message = { inputs: [{ name: "x", rawData: frame.subarray(1, 4), floatData: [1, 2] }], rawInputContents: [frame.subarray(5, 7)], empty: new Uint8Array(0) };
    const transfer = detachBytes(message);
    expect(transfer).toHaveLength(2);
    expect([...message.inputs[0]!.rawData]).toEqual([1, 2, 3]);
    expect(message.inputs[0]!.rawData.buffer.byteLength).toBe(3);
    expect([...message.rawInputContents[0]!]).toEqual([4, 5]);
    expect(transfer).toContain(message.rawInputContents[0]!.buffer);
    // Moving the copies leaves the frame (and anything else viewing it) whole.
    structuredClone(message, { transfer });
    expect([...frame]).toEqual([9, 1, 2, 3, 9, 4, 5, 9]);
    expect(message.inputs[0]!.floatData).toEqual([1, 2]);
  });

  it("copies typed-array tensor values to their own buffers and lists them for transfer (an output may view its whole batch)", () => {
    const batch = new Float32Array([1, 2, 3, 4]);
    const ids = new BigInt64Array([7n]);
    const message = { outputs: [{ name: "p", floatData: batch.subarray(2, 4), int64Data: ids }] };
    const transfer = detachBytes(message);
    expect(transfer).toHaveLength(2);
    expect(message.outputs[0]!.floatData).toEqual(new Float32Array([3, 4]));
    expect(message.outputs[0]!.floatData.buffer.byteLength).toBe(8);
    expect(message.outputs[0]!.int64Data).not.toBe(ids);
    const moved = structuredClone(message, { transfer });
    expect(moved.outputs[0]!.floatData).toEqual(new Float32Array([3, 4]));
    expect(moved.outputs[0]!.int64Data).toEqual(new BigInt64Array([7n]));
    expect([...batch]).toEqual([1, 2, 3, 4]);
  });

  it("moves typed arrays that own their whole buffer without a copy when told the values are owned (a decoded request), but still copies bytes", () => {
    const frame = new Uint8Array([9, 1, 2, 9]);
    const values = new Float32Array([1, 2]);
    const shared = new Float32Array([1, 2, 3]).subarray(1);
    const message = { inputs: [{ floatData: values, doubleData: shared, rawData: frame.subarray(1, 3) }] };
    const transfer = detachBytes(message, { ownedValues: true });
    expect(message.inputs[0]!.floatData).toBe(values);
    expect(message.inputs[0]!.doubleData).not.toBe(shared);
    expect(transfer).toHaveLength(3);
    expect(transfer).toContain(values.buffer);
    const moved = structuredClone(message, { transfer });
    expect(moved.inputs[0]!.floatData).toEqual(new Float32Array([1, 2]));
    expect([...frame]).toEqual([9, 1, 2, 9]);
  });

  it("leaves a message without bytes as it is", () => {
    const message = { model: "m", shape: [1n, 16n], floatData: [0.5] };
    expect(detachBytes(message)).toEqual([]);
    expect(message).toEqual({ model: "m", shape: [1n, 16n], floatData: [0.5] });
  });
});
