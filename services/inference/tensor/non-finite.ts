import type { HostTensor } from "./host-tensor.js";
import { isFloat16NonFinite } from "../../../libs/dtypes/index.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";

/**
 * The flat index of the first NaN or ±Infinity in a floating-point tensor, or -1 when every
 * value is finite (and for non-float dtypes). A plain loop: this runs on every request.
 */
export function firstNonFinite(host: HostTensor): number {
  const data = host.data;
  if (host.dtype === DataType.FLOAT16 && data instanceof Uint16Array) {
    for (let i = 0; i < data.length; i++) if (isFloat16NonFinite(data[i]!)) return i;
    return -1;
  }
  if (data instanceof Float32Array || data instanceof Float64Array) {
    // x - x is 0 for every finite x and NaN for NaN and both infinities.
    for (let i = 0; i < data.length; i++) {
      const v = data[i]!;
      if (v - v !== 0) return i;
    }
  }
  return -1;
}
