import { create, fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import {
  GRPCInferenceService,
  InferTensorContentsSchema,
  ModelInferRequestSchema,
  ModelInferRequest_InferInputTensorSchema,
  ModelInferResponseSchema,
  type ModelInferRequest,
} from "../gen/inference/grpc_service_pb.js";
import { InferenceService, PredictRequestSchema, PredictResponseSchema, TensorSchema, type PredictRequest, type Tensor } from "../gen/tessera/inference/v1/inference_pb.js";
import { MalformedMessage, toGrpcMethodDefinition } from "./grpc-service-definition.js";
import { compilePlan, type TypedFieldPlan } from "./typed-fields.js";
import { typedDecoder } from "./typed-fields-decode.js";
import { typedEncoder } from "./typed-fields-encode.js";
import { mulberry32 } from "../onnx/index.js";

const PLAN: TypedFieldPlan = [
  TensorSchema.field.floatData,
  TensorSchema.field.doubleData,
  TensorSchema.field.int32Data,
  TensorSchema.field.int64Data,
  TensorSchema.field.uint64Data,
  InferTensorContentsSchema.field.intContents,
  InferTensorContentsSchema.field.int64Contents,
  InferTensorContentsSchema.field.uintContents,
  InferTensorContentsSchema.field.uint64Contents,
  InferTensorContentsSchema.field.fp32Contents,
  InferTensorContentsSchema.field.fp64Contents,
];

// Every message through the typed path, however small (the defaults leave small ones to protobuf-es).
const ALL = { minTypedBytes: 0, minTypedElements: 1 };


const SPECIAL_FLOATS = [NaN, -0, 0, Infinity, -Infinity, 1.5, -3.25, Number.MIN_VALUE, Number.MAX_VALUE];
const SPECIAL_INT32 = [0, -1, 1, -(2 ** 31), 2 ** 31 - 1, 127, 128, -128];
const SPECIAL_UINT32 = [0, 1, 127, 128, 2 ** 32 - 1, 2 ** 31];
const SPECIAL_INT64 = [0n, -1n, 1n, -(2n ** 63n), 2n ** 63n - 1n, 2n ** 32n, -(2n ** 32n)];
const SPECIAL_UINT64 = [0n, 1n, 2n ** 64n - 1n, 2n ** 63n, 2n ** 32n - 1n, 2n ** 32n];

function values<T>(next: () => number, special: readonly T[], make: () => T): T[] {
  const n = next() < 0.2 ? 0 : Math.floor(next() * 40);
  return Array.from({ length: n }, () => (next() < 0.3 ? special[Math.floor(next() * special.length)]! : make()));
}

function randomTensor(next: () => number, i: number): Tensor {
  const int = () => Math.floor(next() * 2 ** 32) - 2 ** 31;
  const big = () => BigInt.asIntN(64, (BigInt(Math.floor(next() * 2 ** 32)) << 32n) | BigInt(Math.floor(next() * 2 ** 32)));
  return create(TensorSchema, {
    name: `t${i}`,
    dtype: 1 + Math.floor(next() * 5),
    shape: [1n, BigInt(Math.floor(next() * 20))],
    floatData: values(next, SPECIAL_FLOATS, () => (next() - 0.5) * 1e6).map(Math.fround),
    doubleData: values(next, SPECIAL_FLOATS, () => (next() - 0.5) * 1e300),
    int32Data: values(next, SPECIAL_INT32, int),
    int64Data: values(next, SPECIAL_INT64, big),
    uint64Data: values(next, SPECIAL_UINT64, () => BigInt.asUintN(64, big())),
    stringData: next() < 0.3 ? ["a", "é"] : [],
    rawData: next() < 0.3 ? new Uint8Array([1, 2, 3]) : new Uint8Array(0),
  });
}

function randomPredict(seed: number): PredictRequest {
  const next = mulberry32(seed); // seeded: a failure reproduces
  return create(PredictRequestSchema, {
    model: "fraud",
    inputs: Array.from({ length: Math.floor(next() * 4) }, (_, i) => randomTensor(next, i)),
    outputNames: next() < 0.5 ? ["p"] : [],
    entityKeys: next() < 0.3 ? ["k1"] : [],
  });
}

function randomInfer(seed: number): ModelInferRequest {
  const next = mulberry32(seed); // seeded: a failure reproduces
  const int = () => Math.floor(next() * 2 ** 32) - 2 ** 31;
  const big = () => BigInt.asIntN(64, (BigInt(Math.floor(next() * 2 ** 32)) << 32n) | BigInt(Math.floor(next() * 2 ** 32)));
  return create(ModelInferRequestSchema, {
    modelName: "m",
    id: `r${seed}`,
    inputs: Array.from({ length: Math.floor(next() * 4) }, (_, i) =>
      create(ModelInferRequest_InferInputTensorSchema, {
        name: `i${i}`,
        datatype: "FP32",
        shape: [2n],
        parameters: next() < 0.3 ? { p: { parameterChoice: { case: "int64Param", value: 5n } } } : {},
        contents:
          next() < 0.2
            ? undefined
            : create(InferTensorContentsSchema, {
                boolContents: next() < 0.3 ? [true, false] : [],
                intContents: values(next, SPECIAL_INT32, int),
                int64Contents: values(next, SPECIAL_INT64, big),
                uintContents: values(next, SPECIAL_UINT32, () => Math.floor(next() * 2 ** 32)),
                uint64Contents: values(next, SPECIAL_UINT64, () => BigInt.asUintN(64, big())),
                fp32Contents: values(next, SPECIAL_FLOATS, () => (next() - 0.5) * 1e6).map(Math.fround),
                fp64Contents: values(next, SPECIAL_FLOATS, () => (next() - 0.5) * 1e300),
                bytesContents: next() < 0.3 ? [new Uint8Array([7])] : [],
              }),
      }),
    ),
    rawInputContents: next() < 0.3 ? [new Uint8Array([1, 2, 3, 4])] : [],
  });
}

/** The message with every typed array as a plain array, for comparing with what fromBinary gives. */
function plain(value: unknown): unknown {
  if (ArrayBuffer.isView(value) && !(value instanceof Uint8Array)) return Array.from(value as Float32Array);
  if (Array.isArray(value)) return value.map(plain);
  if (value instanceof Uint8Array || typeof value !== "object" || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
}

function typedFieldsOf(message: unknown, found: string[] = []): string[] {
  if (typeof message !== "object" || message === null) return found;
  if (ArrayBuffer.isView(message)) {
    if (!(message instanceof Uint8Array)) found.push(message.constructor.name);
    return found;
  }
  for (const v of Object.values(message)) typedFieldsOf(v, found);
  return found;
}

const decodePredict = typedDecoder(PredictRequestSchema, PLAN, ALL);
const decodeInfer = typedDecoder(ModelInferRequestSchema, PLAN, ALL);

describe("typedDecoder()", () => {
  it("decodes random messages with every planned kind to the values fromBinary gives, as typed arrays", () => {
    const kinds = new Set<string>();
    for (let seed = 1; seed <= 300; seed++) {
      for (const [schema, message, decode] of [
        [PredictRequestSchema, randomPredict(seed), decodePredict],
        [ModelInferRequestSchema, randomInfer(seed), decodeInfer],
      ] as [DescMessage, MessageShape<DescMessage>, (b: Uint8Array) => unknown][]) {
        const bytes = toBinary(schema, message);
        const decoded = decode(bytes);
        expect(plain(decoded)).toEqual(plain(fromBinary(schema, bytes)));
        typedFieldsOf(decoded).forEach((k) => kinds.add(k));
      }
    }
    expect([...kinds].sort()).toEqual(["BigInt64Array", "BigUint64Array", "Float32Array", "Float64Array", "Int32Array", "Uint32Array"]);
  });

  it("keeps the special values exactly: NaN, -0, infinities, int64 min and max, uint64 max, negative int32 (ten-byte varints)", () => {
    const tensor = create(TensorSchema, {
      floatData: [NaN, -0, Infinity, -Infinity],
      doubleData: [NaN, -0, Number.MAX_VALUE],
      int32Data: [-1, -(2 ** 31), 2 ** 31 - 1],
      int64Data: [-(2n ** 63n), 2n ** 63n - 1n, -1n],
      uint64Data: [2n ** 64n - 1n, 0n],
    });
    const bytes = toBinary(TensorSchema, tensor);
    const decoded = typedDecoder(TensorSchema, PLAN, ALL)(bytes);
    expect(decoded.floatData).toBeInstanceOf(Float32Array);
    expect(Object.is(decoded.floatData[1], -0)).toBe(true);
    expect(plain(decoded)).toEqual(plain(tensor));
    // The ten-byte varint of -1 is what a stock encoder writes.
    expect(toBinary(TensorSchema, create(TensorSchema, { int32Data: [-1] })).byteLength).toBe(2 + 10);
  });

  it("reads unpacked elements (one per record) and packed runs of the same field, in order", () => {
    const w = new BinaryWriter();
    w.tag(4, WireType.Bit32).float(1.5);
    w.tag(4, WireType.LengthDelimited).fork().float(2.5).float(3.5).join();
    w.tag(4, WireType.Bit32).float(4.5);
    w.tag(5, WireType.Bit64).double(-0);
    w.tag(6, WireType.Varint).int32(-7);
    w.tag(6, WireType.LengthDelimited).fork().int32(8).int32(-9).join();
    w.tag(7, WireType.Varint).int64(-(2n ** 63n));
    w.tag(8, WireType.Varint).uint64(2n ** 64n - 1n);
    w.tag(1, WireType.LengthDelimited).string("x");
    const bytes = w.finish();
    const decoded = typedDecoder(TensorSchema, PLAN, ALL)(bytes);
    expect(plain(decoded)).toEqual(plain(fromBinary(TensorSchema, bytes)));
    expect(Array.from(decoded.floatData)).toEqual([1.5, 2.5, 3.5, 4.5]);
    expect(Array.from(decoded.int32Data)).toEqual([-7, 8, -9]);
  });

  it("appends repeated occurrences and merges a singular sub-message seen twice, as fromBinary does", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const a = toBinary(ModelInferRequestSchema, randomInfer(seed));
      const b = toBinary(ModelInferRequestSchema, randomInfer(seed + 1000));
      const joined = new Uint8Array([...a, ...b]);
      expect(plain(decodeInfer(joined))).toEqual(plain(fromBinary(ModelInferRequestSchema, joined)));
    }
    // One input whose contents arrive in two pieces: the values of both, in order.
    const piece = (v: number) => toBinary(ModelInferRequest_InferInputTensorSchema, create(ModelInferRequest_InferInputTensorSchema, { name: "x", contents: { fp32Contents: [v], int64Contents: [BigInt(v)] } }));
    const input = new Uint8Array([...piece(1), ...piece(2)]);
    const decoded = typedDecoder(ModelInferRequest_InferInputTensorSchema, PLAN, ALL)(input);
    expect(decoded.contents!.fp32Contents).toEqual(new Float32Array([1, 2]));
    expect(decoded.contents!.int64Contents).toEqual(new BigInt64Array([1n, 2n]));
    expect(plain(decoded)).toEqual(plain(fromBinary(ModelInferRequest_InferInputTensorSchema, input)));
  });

  it("keeps unknown fields as fromBinary does", () => {
    const w = new BinaryWriter();
    w.tag(1, WireType.LengthDelimited).string("x");
    w.tag(99, WireType.Varint).uint32(5);
    w.tag(4, WireType.LengthDelimited).fork().float(1).join();
    w.tag(98, WireType.LengthDelimited).bytes(new Uint8Array([1, 2]));
    const bytes = w.finish();
    const decoded = typedDecoder(TensorSchema, PLAN, ALL)(bytes);
    expect(decoded.$unknown).toEqual(fromBinary(TensorSchema, bytes).$unknown);
    expect(decoded.$unknown).toHaveLength(2);
  });

  it("throws for every truncation that fromBinary throws for, and decodes the rest alike", () => {
    for (let seed = 1; seed <= 20; seed++) {
      const bytes = toBinary(ModelInferRequestSchema, randomInfer(seed));
      for (let end = 0; end < bytes.length; end++) {
        const cut = bytes.subarray(0, end);
        let stock: unknown;
        try {
          stock = plain(fromBinary(ModelInferRequestSchema, cut));
        } catch {
          expect(() => decodeInfer(cut)).toThrow();
          continue;
        }
        expect(plain(decodeInfer(cut))).toEqual(stock);
      }
    }
  });

  it("rejects a packed float run that is not whole values, and a planned field on the wrong wire type", () => {
    const odd = new BinaryWriter().tag(4, WireType.LengthDelimited).bytes(new Uint8Array([0, 0, 128, 63, 0])).finish();
    expect(() => typedDecoder(TensorSchema, PLAN, ALL)(odd)).toThrow(/not a whole number of values/);
    const wrong = new BinaryWriter().tag(4, WireType.Varint).uint32(1).finish();
    expect(() => typedDecoder(TensorSchema, PLAN, ALL)(wrong)).toThrow(/unexpected wire type 0/);
    const endless = new Uint8Array([0x32, 3, 0xff, 0xff, 0xff]);
    expect(() => typedDecoder(TensorSchema, PLAN, ALL)(endless)).toThrow(/premature EOF/);
  });

  it("gives the same values through the portable DataView path (a big-endian host)", () => {
    const portable = typedDecoder(PredictRequestSchema, PLAN, { ...ALL, littleEndian: false });
    for (let seed = 1; seed <= 100; seed++) {
      const bytes = toBinary(PredictRequestSchema, randomPredict(seed));
      expect(plain(portable(bytes))).toEqual(plain(fromBinary(PredictRequestSchema, bytes)));
    }
    const infer = typedDecoder(ModelInferRequestSchema, PLAN, { ...ALL, littleEndian: false });
    for (let seed = 1; seed <= 100; seed++) {
      const bytes = toBinary(ModelInferRequestSchema, randomInfer(seed));
      expect(plain(infer(bytes))).toEqual(plain(fromBinary(ModelInferRequestSchema, bytes)));
    }
  });
});

/** The message with its planned fields turned into typed arrays, as the output builders make them. */
function withTypedArrays(value: unknown): unknown {
  if (Array.isArray(value)) {
    if (value.length > 0 && typeof value[0] === "object") value.forEach(withTypedArrays);
    return value;
  }
  if (typeof value !== "object" || value === null || ArrayBuffer.isView(value)) return value;
  const record = value as Record<string, unknown>;
  const arrays: Record<string, (v: never[]) => unknown> = {
    floatData: (v) => new Float32Array(v),
    fp32Contents: (v) => new Float32Array(v),
    doubleData: (v) => new Float64Array(v),
    fp64Contents: (v) => new Float64Array(v),
    int32Data: (v) => new Int32Array(v),
    intContents: (v) => new Int32Array(v),
    uintContents: (v) => new Uint32Array(v),
    int64Data: (v) => BigInt64Array.from(v),
    int64Contents: (v) => BigInt64Array.from(v),
    uint64Data: (v) => BigUint64Array.from(v),
    uint64Contents: (v) => BigUint64Array.from(v),
  };
  for (const key of Object.keys(record)) {
    const make = arrays[key];
    if (make && Array.isArray(record[key])) record[key] = make(record[key] as never[]);
    else withTypedArrays(record[key]);
  }
  return record;
}

describe("typedEncoder()", () => {
  it("writes messages whose fields hold typed arrays (or plain arrays) so that stock fromBinary reads the same message", () => {
    for (const littleEndian of [true, false]) {
      const encode = typedEncoder(PredictResponseSchema, PLAN, { ...ALL, littleEndian });
      const encodeInfer = typedEncoder(ModelInferResponseSchema, PLAN, { ...ALL, littleEndian });
      for (let seed = 1; seed <= 200; seed++) {
        const request = randomPredict(seed);
        const response = create(PredictResponseSchema, { model: "m", version: 3, outputs: request.inputs, requestId: "r" });
        const stock = plain(fromBinary(PredictResponseSchema, toBinary(PredictResponseSchema, response)));
        expect(plain(fromBinary(PredictResponseSchema, encode(response)))).toEqual(stock);
        withTypedArrays(response);
        expect(plain(fromBinary(PredictResponseSchema, encode(response)))).toEqual(stock);

        const infer = randomInfer(seed);
        const oip = create(ModelInferResponseSchema, { modelName: "m", id: infer.id, outputs: infer.inputs.map((i) => ({ name: i.name, datatype: i.datatype, shape: i.shape, contents: i.contents })), rawOutputContents: infer.rawInputContents });
        const stockOip = plain(fromBinary(ModelInferResponseSchema, toBinary(ModelInferResponseSchema, oip)));
        withTypedArrays(oip);
        expect(plain(fromBinary(ModelInferResponseSchema, encodeInfer(oip)))).toEqual(stockOip);
        // And the typed decoder reads it back.
        expect(plain(typedDecoder(ModelInferResponseSchema, PLAN, ALL)(encodeInfer(oip)))).toEqual(stockOip);
      }
    }
  });

  it("writes a Float32Array's bytes as they are: the packed field is the array's little-endian bytes", () => {
    const values = new Float32Array([1, -0, NaN, 2.5]);
    const bytes = typedEncoder(TensorSchema, PLAN, ALL)(create(TensorSchema, { floatData: values as unknown as number[] }));
    expect(Array.from(bytes)).toEqual([0x22, 16, ...new Uint8Array(values.buffer)]);
  });
});

describe("the size thresholds", () => {
  it("by default leave small messages to protobuf-es and take large ones, with the same values", () => {
    const decode = typedDecoder(TensorSchema, PLAN);
    const small = toBinary(TensorSchema, create(TensorSchema, { floatData: [1, 2, 3] }));
    const large = toBinary(TensorSchema, create(TensorSchema, { floatData: Array.from({ length: 100 }, (_, i) => i) }));
    expect(decode(small).floatData).toEqual([1, 2, 3]);
    expect(decode(large).floatData).toEqual(new Float32Array(100).map((_, i) => i));
    const encode = typedEncoder(TensorSchema, PLAN);
    for (const n of [3, 31, 32, 100]) {
      const message = create(TensorSchema, { name: "t", floatData: new Float32Array(n).map((_, i) => i * 0.5) as unknown as number[], int32Data: new Int32Array(n).fill(-1) as unknown as number[] });
      const stock = toBinary(TensorSchema, create(TensorSchema, { name: "t", floatData: Array.from(message.floatData), int32Data: Array.from(message.int32Data) }));
      expect(plain(fromBinary(TensorSchema, encode(message)))).toEqual(plain(fromBinary(TensorSchema, stock)));
      // Below the threshold toBinary writes it all, in its own order: the same bytes.
      if (n < 32) expect(encode(message)).toEqual(stock);
      // The message is left as it was.
      expect(message.floatData).toHaveLength(n);
    }
  });
});

describe("compilePlan()", () => {
  it("refuses a field that cannot be held in a typed array, naming it", () => {
    expect(() => compilePlan(TensorSchema, [TensorSchema.field.boolData])).toThrow(/tessera.inference.v1.Tensor.bool_data/);
  });

  it("leaves messages that lead to no planned field to protobuf-es", () => {
    expect(compilePlan(TensorSchema, [InferTensorContentsSchema.field.fp32Contents])).toBeUndefined();
    expect(compilePlan(PredictRequestSchema, PLAN)?.children.size).toBe(1);
  });
});

describe("toGrpcMethodDefinition() with typedFields", () => {
  it("hands a malformed request to the handler as MalformedMessage (INVALID_ARGUMENT), as without the plan", () => {
    for (const options of [{}, { typedFields: PLAN, ...ALL }]) {
      const predict = toGrpcMethodDefinition(InferenceService.method.predict, options);
      const infer = toGrpcMethodDefinition(GRPCInferenceService.method.modelInfer, options);
      const bytes = toBinary(PredictRequestSchema, create(PredictRequestSchema, { inputs: [{ name: "x", floatData: [1, 2, 3] }] }));
      const truncated = Buffer.from(bytes.subarray(0, bytes.length - 2));
      const decoded = predict.requestDeserialize(truncated);
      expect(decoded).toBeInstanceOf(MalformedMessage);
      // fromBinary's own words (a float read past the end); the typed decoder says premature EOF.
      expect(String((decoded as MalformedMessage).cause)).toMatch(/premature EOF|outside the bounds/);
      expect(infer.requestDeserialize(Buffer.from([0x2a, 5, 0x2a]))).toBeInstanceOf(MalformedMessage);
    }
  });

  it("serializes a response with typed arrays for a stock client", () => {
    const predict = toGrpcMethodDefinition(InferenceService.method.predict, { typedFields: PLAN, ...ALL });
    const response = create(PredictResponseSchema, { outputs: [{ name: "p", floatData: new Float32Array([0.25, 0.75]) as unknown as number[] }] });
    const decoded = predict.responseDeserialize(predict.responseSerialize(response)) as typeof response;
    expect(decoded.outputs[0]!.floatData).toEqual([0.25, 0.75]);
  });
});
