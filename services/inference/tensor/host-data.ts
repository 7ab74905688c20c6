import { internal } from "../../../libs/errors/index.js";
import { dataMatchesDtype, dtypeInfo, type DtypeInfo } from "../../../libs/dtypes/index.js";
import type { HostTensor, TensorData } from "./host-tensor.js";
import { elementCount, formatShape } from "./shape.js";

export type NumberArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | Uint8Array
  | Uint16Array
  | Uint32Array;

export type BigIntArray = BigInt64Array | BigUint64Array;

export function isBigIntArray(data: TensorData): data is BigIntArray {
  return data instanceof BigInt64Array || data instanceof BigUint64Array;
}

export function isNumberArray(data: TensorData): data is NumberArray {
  return ArrayBuffer.isView(data) && !isBigIntArray(data);
}

/**
 * The dtype row for a tensor we are about to encode, after checking that its data has the
 * storage and length its dtype and shape promise. A mismatch is a bug in Tessera (the
 * decoders and ONNX Runtime only make well-formed tensors), hence INTERNAL; an unsupported
 * dtype is INVALID_ARGUMENT, as everywhere.
 */
export function checkHostData(host: HostTensor, subject: string): DtypeInfo {
  const info = dtypeInfo(host.dtype, subject);
  if (!dataMatchesDtype(info, host.data)) {
    throw internal(`${subject}: ${info.oip} tensor holds ${storageName(host.data)} data`);
  }
  const count = elementCount(host.shape);
  if (host.data.length !== count) {
    throw internal(
      `${subject}: shape ${formatShape(host.shape)} needs ${count} elements, the tensor holds ${host.data.length}`,
    );
  }
  return info;
}

function storageName(data: TensorData): string {
  if (Array.isArray(data)) return data.length === 0 ? "array" : `${typeof data[0]}[]`;
  return data.constructor.name;
}
