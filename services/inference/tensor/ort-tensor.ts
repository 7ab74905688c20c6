import { Tensor } from "onnxruntime-node";
import { internal } from "../../../libs/errors/index.js";
import { dtypeFromOrt, dtypeInfo, type OrtType } from "../../../libs/dtypes/index.js";
import { checkHostData } from "./host-data.js";
import type { HostTensor, TensorData } from "./host-tensor.js";

// The Tensor constructor's overloads are keyed by literal type strings; we pick the type at
// run time (and have checked the data against it), so call it through one plain signature.
type PlainConstructor = new (type: OrtType, data: TensorData, dims: readonly number[]) => Tensor;

/**
 * A HostTensor as an onnxruntime-node Tensor. Numeric data is shared, not copied; BOOL is
 * packed into the Uint8Array ONNX Runtime takes; FP16 bit patterns pass through. `name`
 * only labels errors.
 */
export function toOrtTensor(host: HostTensor, name = "tensor"): Tensor {
  const info = checkHostData(host, `tensor '${name}'`);
  let data: TensorData = host.data;
  if (info.storage.kind === "boolean") {
    const flags = host.data as boolean[];
    const bytes = new Uint8Array(flags.length);
    for (let i = 0; i < flags.length; i++) bytes[i] = flags[i] ? 1 : 0;
    data = bytes;
  }
  return new (Tensor as unknown as PlainConstructor)(info.ort, data, host.shape);
}

/**
 * An onnxruntime-node Tensor (a run's output) as a HostTensor, sharing its numeric data.
 * The tensor must be on the CPU; `name` only labels errors. Types Tessera does not serve
 * (int4, uint4) are INTERNAL: the registry refuses such models at upload, so meeting one
 * here is our bug.
 */
export function fromOrtTensor(t: Tensor, name = "tensor"): HostTensor {
  const subject = `tensor '${name}'`;
  let dtype;
  try {
    dtype = dtypeFromOrt(t.type, subject);
  } catch (cause) {
    throw internal(`${subject}: the model produced onnxruntime type '${t.type}', which Tessera does not serve`, cause);
  }
  const info = dtypeInfo(dtype, subject);
  const shape = t.dims.slice();
  const raw: unknown = t.data;
  let data: TensorData;
  switch (info.storage.kind) {
    case "boolean": {
      const bytes = raw as Uint8Array;
      const flags = new Array<boolean>(bytes.length);
      for (let i = 0; i < bytes.length; i++) flags[i] = bytes[i] !== 0;
      data = flags;
      break;
    }
    case "string":
      data = raw as string[];
      break;
    case "typed":
      // Where the runtime has Float16Array, ONNX Runtime hands FP16 out as one; Tessera keeps the bits.
      data =
        info.ort === "float16" && !(raw instanceof Uint16Array)
          ? new Uint16Array((raw as ArrayBufferView).buffer, (raw as ArrayBufferView).byteOffset, t.size)
          : (raw as TensorData);
      break;
  }
  const host = { dtype, shape, data };
  checkHostData(host, subject);
  return host;
}
