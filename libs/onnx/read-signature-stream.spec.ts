import { describe, expect, it } from "vitest";
import { TensorProto_DataType } from "../gen/onnx/onnx_pb.js";
import { buildModel, float32Initializer, node, tensorValue } from "./build-model.js";
import { buildGatherModel } from "./gather-model.js";
import { buildMlp } from "./mlp.js";
import { readSignature } from "./read-signature.js";
import { readSignatureFromStream } from "./read-signature-stream.js";

async function* chunked(bytes: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < bytes.byteLength; offset += size) yield bytes.subarray(offset, offset + size);
}

async function messageOf(promise: Promise<unknown>): Promise<string> {
  return promise.then(
    () => "ok",
    (error: unknown) => (error as Error).message,
  );
}

const weight = float32Initializer("w", [3, 3], new Float32Array(9));
const models: [string, Uint8Array][] = [
  ["an MLP", buildMlp({ name: "m", layers: [16, 32, 1], seed: 1 })],
  ["a two-input gather model", buildGatherModel()],
  [
    "a model listing a weight as an input",
    buildModel({
      name: "w",
      inputs: [tensorValue("x", TensorProto_DataType.FLOAT, ["batch", 3]), tensorValue("w", TensorProto_DataType.FLOAT, [3, 3])],
      outputs: [tensorValue("y", TensorProto_DataType.FLOAT, ["batch", 3])],
      initializers: [weight],
      nodes: [node("MatMul", ["x", "w"], ["y"])],
    }),
  ],
];

describe("readSignatureFromStream()", () => {
  it.each(models)("reads %s exactly as readSignature() does, whatever the chunking", async (_name, bytes) => {
    for (const size of [1, 7, 4096]) {
      expect(await readSignatureFromStream(chunked(bytes, size))).toEqual(readSignature(bytes));
    }
  });

  it("answers the same errors for an empty, a foreign and a truncated file", async () => {
    const model = buildMlp({ name: "m", layers: [4, 2], seed: 1 });
    const zip = new Uint8Array([0x50, 0x4b, 0x03, 0x04, 1, 2, 3, 4, 5]);
    expect(await messageOf(readSignatureFromStream(chunked(new Uint8Array(0), 8)))).toMatch(/the file is empty/);
    expect(await messageOf(readSignatureFromStream(chunked(zip, 3)))).toMatch(/zip archive/);
    expect(await messageOf(readSignatureFromStream(chunked(model.subarray(0, model.byteLength - 5), 16)))).toMatch(/not an ONNX model: the protobuf is malformed or truncated/);
  });

  it("steps over weights without holding them: a 64 MiB initializer arrives and only its name is kept", async () => {
    // The model is generated as a stream, so the test itself never holds it either.
    const big = float32Initializer("big", [1], new Float32Array(1));
    const small = buildModel({
      name: "big",
      inputs: [tensorValue("x", TensorProto_DataType.FLOAT, ["batch", 1])],
      outputs: [tensorValue("y", TensorProto_DataType.FLOAT, ["batch", 1])],
      initializers: [big],
      nodes: [node("Mul", ["x", "big"], ["y"])],
    });
    const expected = readSignature(small);
    let yielded = 0;
    async function* padded(): AsyncGenerator<Uint8Array> {
      yield small;
      // An unknown ModelProto field (99, length-delimited) of 64 MiB: skipped by length.
      const length = 64 * 1024 * 1024;
      const header = [0x9a, 0x06]; // tag: field 99, wire type 2
      let v = length;
      while (v >= 0x80) {
        header.push((v & 0x7f) | 0x80);
        v >>>= 7;
      }
      header.push(v);
      yield new Uint8Array(header);
      const chunk = new Uint8Array(1024 * 1024);
      for (let i = 0; i < 64; i++) {
        yielded++;
        yield chunk;
      }
    }
    expect(await readSignatureFromStream(padded())).toEqual(expected);
    expect(yielded).toBe(64);
  });
});
