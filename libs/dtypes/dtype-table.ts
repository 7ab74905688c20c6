import { invalidArgument } from "../errors/index.js";
import { DataType } from "../gen/tessera/registry/v1/signature_pb.js";
import type { NumericArray, TensorData } from "./tensor-data.js";

/** Datatype names of the Open Inference Protocol (KServe V2 / Triton). */
export type OipDatatype =
  | "FP16"
  | "FP32"
  | "FP64"
  | "INT8"
  | "INT16"
  | "INT32"
  | "INT64"
  | "UINT8"
  | "UINT16"
  | "UINT32"
  | "UINT64"
  | "BOOL"
  | "BYTES";

/** Element type strings of onnxruntime-node's Tensor (the ones Tessera serves). */
export type OrtType =
  | "float16"
  | "float32"
  | "float64"
  | "int8"
  | "int16"
  | "int32"
  | "int64"
  | "uint8"
  | "uint16"
  | "uint32"
  | "uint64"
  | "bool"
  | "string";

export type { NumericArray };

export type NumericArrayConstructor =
  | Float32ArrayConstructor
  | Float64ArrayConstructor
  | Int8ArrayConstructor
  | Int16ArrayConstructor
  | Int32ArrayConstructor
  | BigInt64ArrayConstructor
  | Uint8ArrayConstructor
  | Uint16ArrayConstructor
  | Uint32ArrayConstructor
  | BigUint64ArrayConstructor;

/** How a dtype's elements sit in HostTensor.data. */
export type ElementStorage =
  | { readonly kind: "typed"; readonly array: NumericArrayConstructor }
  | { readonly kind: "boolean" }
  | { readonly kind: "string" };

export interface DtypeInfo {
  readonly dtype: DataType;
  readonly oip: OipDatatype;
  readonly ort: OrtType;
  /** Bytes per element in raw (little-endian) form; 0 for STRING, whose elements vary. */
  readonly byteSize: number;
  readonly storage: ElementStorage;
  /** "float": NaN and infinities possible; "int": fixed-width integer; "bigint": 64-bit integer held as bigint. */
  readonly numeric: "float" | "int" | "bigint" | "none";
  /** Inclusive value range, for the integer dtypes held as numbers. */
  readonly range?: readonly [number, number];
}

const typed = (array: NumericArrayConstructor): ElementStorage => ({ kind: "typed", array });

// FLOAT16 is held as its IEEE 754 binary16 bit patterns (Uint16Array), as onnxruntime-node
// does on runtimes without Float16Array (Node 20).
const TABLE: readonly DtypeInfo[] = [
  { dtype: DataType.FLOAT32, oip: "FP32", ort: "float32", byteSize: 4, storage: typed(Float32Array), numeric: "float" },
  { dtype: DataType.FLOAT64, oip: "FP64", ort: "float64", byteSize: 8, storage: typed(Float64Array), numeric: "float" },
  { dtype: DataType.FLOAT16, oip: "FP16", ort: "float16", byteSize: 2, storage: typed(Uint16Array), numeric: "float" },
  { dtype: DataType.INT8, oip: "INT8", ort: "int8", byteSize: 1, storage: typed(Int8Array), numeric: "int", range: [-128, 127] },
  { dtype: DataType.INT16, oip: "INT16", ort: "int16", byteSize: 2, storage: typed(Int16Array), numeric: "int", range: [-32768, 32767] },
  { dtype: DataType.INT32, oip: "INT32", ort: "int32", byteSize: 4, storage: typed(Int32Array), numeric: "int", range: [-2147483648, 2147483647] },
  { dtype: DataType.INT64, oip: "INT64", ort: "int64", byteSize: 8, storage: typed(BigInt64Array), numeric: "bigint" },
  { dtype: DataType.UINT8, oip: "UINT8", ort: "uint8", byteSize: 1, storage: typed(Uint8Array), numeric: "int", range: [0, 255] },
  { dtype: DataType.UINT16, oip: "UINT16", ort: "uint16", byteSize: 2, storage: typed(Uint16Array), numeric: "int", range: [0, 65535] },
  { dtype: DataType.UINT32, oip: "UINT32", ort: "uint32", byteSize: 4, storage: typed(Uint32Array), numeric: "int", range: [0, 4294967295] },
  { dtype: DataType.UINT64, oip: "UINT64", ort: "uint64", byteSize: 8, storage: typed(BigUint64Array), numeric: "bigint" },
  { dtype: DataType.BOOL, oip: "BOOL", ort: "bool", byteSize: 1, storage: { kind: "boolean" }, numeric: "none" },
  { dtype: DataType.STRING, oip: "BYTES", ort: "string", byteSize: 0, storage: { kind: "string" }, numeric: "none" },
];

const BY_DTYPE = new Map<DataType, DtypeInfo>(TABLE.map((i) => [i.dtype, i]));
const BY_OIP = new Map<string, DtypeInfo>(TABLE.map((i) => [i.oip, i]));
const BY_ORT = new Map<string, DtypeInfo>(TABLE.map((i) => [i.ort, i]));

/** Every dtype Tessera serves, in table order. */
export const SUPPORTED_DTYPES: readonly DataType[] = TABLE.map((i) => i.dtype);

const OIP_NAMES = TABLE.map((i) => i.oip).join(", ");

/** "input 'x': " style prefix, or nothing when there is no subject. */
function prefix(subject: string | undefined): string {
  return subject === undefined ? "" : `${subject}: `;
}

/** The row for a dtype, or undefined when Tessera does not serve it: for readers that must not throw. */
export function findDtypeInfo(dtype: DataType): DtypeInfo | undefined {
  return BY_DTYPE.get(dtype);
}

/** The row for an OIP datatype name ("FP32"), or undefined when it is not one Tessera serves. */
export function findOipDtypeInfo(datatype: string): DtypeInfo | undefined {
  return BY_OIP.get(datatype);
}

/** The row for a dtype; invalidArgument naming it when Tessera does not serve it. */
export function dtypeInfo(dtype: DataType, subject?: string): DtypeInfo {
  const info = findDtypeInfo(dtype);
  if (info === undefined) {
    throw invalidArgument(
      `${prefix(subject)}data type ${dtypeLabel(dtype)} is not supported; use one of ${OIP_NAMES}`,
    );
  }
  return info;
}

/** Parses an OIP datatype string ("FP32"); invalidArgument listing the valid ones otherwise. */
export function dtypeFromOip(datatype: string, subject?: string): DataType {
  const info = BY_OIP.get(datatype);
  if (info === undefined) {
    const hint = BY_OIP.has(datatype.toUpperCase()) ? ` (datatypes are upper case: '${datatype.toUpperCase()}')` : "";
    throw invalidArgument(
      `${prefix(subject)}datatype '${datatype}' is not supported${hint}; use one of ${OIP_NAMES}`,
    );
  }
  return info.dtype;
}

export function oipDatatype(dtype: DataType, subject?: string): OipDatatype {
  return dtypeInfo(dtype, subject).oip;
}

/** Parses an onnxruntime-node type string ("float32"). */
export function dtypeFromOrt(type: string, subject?: string): DataType {
  const info = BY_ORT.get(type);
  if (info === undefined) {
    throw invalidArgument(
      `${prefix(subject)}onnxruntime type '${type}' is not supported; Tessera serves ${TABLE.map((i) => i.ort).join(", ")}`,
    );
  }
  return info.dtype;
}

export function ortType(dtype: DataType, subject?: string): OrtType {
  return dtypeInfo(dtype, subject).ort;
}

/** Bytes per element in raw form; 0 for STRING. */
export function elementByteSize(dtype: DataType, subject?: string): number {
  return dtypeInfo(dtype, subject).byteSize;
}

/** The typed array constructor for a numeric dtype; invalidArgument for BOOL and STRING. */
export function typedArrayFor(dtype: DataType, subject?: string): NumericArrayConstructor {
  const info = dtypeInfo(dtype, subject);
  if (info.storage.kind !== "typed") {
    throw invalidArgument(`${prefix(subject)}${info.oip} has no typed array form`);
  }
  return info.storage.array;
}

/** A name for messages that never throws: the OIP name, or the enum number when unknown. */
export function dtypeLabel(dtype: DataType): string {
  const info = BY_DTYPE.get(dtype);
  if (info !== undefined) return info.oip;
  return dtype === DataType.UNSPECIFIED ? "UNSPECIFIED (0)" : `${DataType[dtype] ?? "unknown"} (${dtype})`;
}

/** Zero-filled storage for `count` elements of a dtype. */
export function allocateData(info: DtypeInfo, count: number): TensorData {
  switch (info.storage.kind) {
    case "typed":
      return new info.storage.array(count);
    case "boolean":
      return new Array<boolean>(count).fill(false);
    case "string":
      return new Array<string>(count).fill("");
  }
}

/** Whether `data` has the storage the dtype calls for (checks the first element of plain arrays only). */
export function dataMatchesDtype(info: DtypeInfo, data: TensorData): boolean {
  switch (info.storage.kind) {
    case "typed":
      return data instanceof info.storage.array;
    case "boolean":
      return Array.isArray(data) && (data.length === 0 || typeof data[0] === "boolean");
    case "string":
      return Array.isArray(data) && (data.length === 0 || typeof data[0] === "string");
  }
}
