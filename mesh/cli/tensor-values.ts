import type { Tensor } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { fromFloat16Bits } from "../../libs/dtypes/index.js";

export type ElementValue = number | bigint | boolean | string;

/** A Tensor's elements as plain values, row-major, wherever the server put them (a typed field or raw_data). */
export function tensorValues(tensor: Tensor): ElementValue[] {
  if (tensor.rawData.byteLength > 0) return rawValues(tensor.dtype, tensor.rawData);
  switch (tensor.dtype) {
    case DataType.FLOAT32:
      return [...tensor.floatData];
    case DataType.FLOAT64:
      return [...tensor.doubleData];
    case DataType.INT8:
    case DataType.UINT8:
    case DataType.INT16:
    case DataType.UINT16:
    case DataType.INT32:
      return [...tensor.int32Data];
    case DataType.INT64:
      return [...tensor.int64Data];
    case DataType.UINT32:
    case DataType.UINT64:
      return [...tensor.uint64Data];
    case DataType.BOOL:
      return [...tensor.boolData];
    case DataType.STRING:
      return [...tensor.stringData];
    default:
      return [];
  }
}

function rawValues(dtype: DataType, raw: Uint8Array): ElementValue[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const read = (width: number, get: (offset: number) => ElementValue): ElementValue[] =>
    Array.from({ length: Math.floor(raw.byteLength / width) }, (_, i) => get(i * width));
  switch (dtype) {
    case DataType.FLOAT32:
      return read(4, (o) => view.getFloat32(o, true));
    case DataType.FLOAT64:
      return read(8, (o) => view.getFloat64(o, true));
    case DataType.FLOAT16:
      return read(2, (o) => fromFloat16Bits(view.getUint16(o, true)));
    case DataType.INT8:
      return read(1, (o) => view.getInt8(o));
    case DataType.UINT8:
      return read(1, (o) => view.getUint8(o));
    case DataType.INT16:
      return read(2, (o) => view.getInt16(o, true));
    case DataType.UINT16:
      return read(2, (o) => view.getUint16(o, true));
    case DataType.INT32:
      return read(4, (o) => view.getInt32(o, true));
    case DataType.UINT32:
      return read(4, (o) => view.getUint32(o, true));
    case DataType.INT64:
      return read(8, (o) => view.getBigInt64(o, true));
    case DataType.UINT64:
      return read(8, (o) => view.getBigUint64(o, true));
    case DataType.BOOL:
      return read(1, (o) => view.getUint8(o) !== 0);
    default:
      return [];
  }
}
