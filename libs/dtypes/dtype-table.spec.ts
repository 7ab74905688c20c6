import { describe, expect, it } from "vitest";
import { Code } from "../errors/index.js";
import { DataType } from "../gen/tessera/registry/v1/signature_pb.js";
import {
  SUPPORTED_DTYPES,
  allocateData,
  dataMatchesDtype,
  dtypeFromOip,
  dtypeFromOrt,
  dtypeInfo,
  dtypeLabel,
  elementByteSize,
  findDtypeInfo,
  findOipDtypeInfo,
  oipDatatype,
  ortType,
  typedArrayFor,
} from "./dtype-table.js";
import { thrownBy } from "../testing/index.js";

const ROWS: readonly [DataType, string, string, number, unknown][] = [
  [DataType.FLOAT32, "FP32", "float32", 4, Float32Array],
  [DataType.FLOAT64, "FP64", "float64", 8, Float64Array],
  [DataType.FLOAT16, "FP16", "float16", 2, Uint16Array],
  [DataType.INT8, "INT8", "int8", 1, Int8Array],
  [DataType.INT16, "INT16", "int16", 2, Int16Array],
  [DataType.INT32, "INT32", "int32", 4, Int32Array],
  [DataType.INT64, "INT64", "int64", 8, BigInt64Array],
  [DataType.UINT8, "UINT8", "uint8", 1, Uint8Array],
  [DataType.UINT16, "UINT16", "uint16", 2, Uint16Array],
  [DataType.UINT32, "UINT32", "uint32", 4, Uint32Array],
  [DataType.UINT64, "UINT64", "uint64", 8, BigUint64Array],
  [DataType.BOOL, "BOOL", "bool", 1, undefined],
  [DataType.STRING, "BYTES", "string", 0, undefined],
];

describe("dtype tables", () => {
  it.each(ROWS)("maps DataType %i to %s, %s, %i bytes", (dtype, oip, ort, bytes, array) => {
    expect(oipDatatype(dtype)).toBe(oip);
    expect(dtypeFromOip(oip)).toBe(dtype);
    expect(ortType(dtype)).toBe(ort);
    expect(dtypeFromOrt(ort)).toBe(dtype);
    expect(elementByteSize(dtype)).toBe(bytes);
    if (array !== undefined) expect(typedArrayFor(dtype)).toBe(array);
  });

  it("covers every DataType except UNSPECIFIED", () => {
    const all = Object.values(DataType).filter((v): v is DataType => typeof v === "number" && v !== DataType.UNSPECIFIED);
    expect([...SUPPORTED_DTYPES].sort()).toEqual(all.sort());
  });

  it("matches ONNX's TensorProto numbers", () => {
    // onnx.proto: FLOAT=1 UINT8=2 INT8=3 UINT16=4 INT16=5 INT32=6 INT64=7 STRING=8 BOOL=9 FLOAT16=10 DOUBLE=11 UINT32=12 UINT64=13
    expect([DataType.FLOAT32, DataType.STRING, DataType.FLOAT16, DataType.FLOAT64, DataType.UINT64]).toEqual([1, 8, 10, 11, 13]);
  });

  it.each([
    ["an unknown OIP datatype", () => dtypeFromOip("FP8", "input 'x'"), ["input 'x'", "'FP8'", "FP32"]],
    ["a lower-case OIP datatype", () => dtypeFromOip("fp32", "input 'x'"), ["'fp32'", "'FP32'"]],
    ["an unknown ORT type", () => dtypeFromOrt("int4"), ["'int4'", "float32"]],
    ["UNSPECIFIED", () => dtypeInfo(DataType.UNSPECIFIED, "tensor 't'"), ["tensor 't'", "UNSPECIFIED"]],
    ["an out-of-range enum number", () => oipDatatype(99 as DataType), ["(99)"]],
    ["a typed array for BOOL", () => typedArrayFor(DataType.BOOL), ["BOOL"]],
  ] as const)("answers INVALID_ARGUMENT naming the dtype for %s", (_label, fn, fragments) => {
    const error = thrownBy(fn);
    expect(error.code).toBe(Code.InvalidArgument);
    for (const f of fragments) expect(error.rawMessage).toContain(f);
  });

  it("finds a row by dtype or OIP name, or nothing, without throwing", () => {
    expect(findDtypeInfo(DataType.INT64)?.oip).toBe("INT64");
    expect(findOipDtypeInfo("FP16")?.dtype).toBe(DataType.FLOAT16);
    expect(findDtypeInfo(DataType.UNSPECIFIED)).toBeUndefined();
    expect(findOipDtypeInfo("fp32")).toBeUndefined();
  });

  it("labels unknown dtypes without throwing", () => {
    expect(dtypeLabel(DataType.FLOAT32)).toBe("FP32");
    expect(dtypeLabel(DataType.UNSPECIFIED)).toBe("UNSPECIFIED (0)");
    expect(dtypeLabel(42 as DataType)).toBe("unknown (42)");
  });
});

describe("allocateData()", () => {
  it.each(ROWS)("allocates zeroed storage that matches DataType %i", (dtype) => {
    const info = dtypeInfo(dtype);
    const data = allocateData(info, 3);
    expect(data.length).toBe(3);
    expect(dataMatchesDtype(info, data)).toBe(true);
  });

  it("tells storage that does not match the dtype", () => {
    expect(dataMatchesDtype(dtypeInfo(DataType.FLOAT32), new Float64Array(1))).toBe(false);
    expect(dataMatchesDtype(dtypeInfo(DataType.BOOL), ["a"])).toBe(false);
    expect(dataMatchesDtype(dtypeInfo(DataType.STRING), [true])).toBe(false);
  });
});
