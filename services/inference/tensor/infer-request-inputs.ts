import { invalidArgument } from "../../../libs/errors/index.js";
import type { ModelInferRequest } from "../../../libs/gen/inference/grpc_service_pb.js";
import type { HostTensor } from "./host-tensor.js";
import { fromInferInput } from "./infer-input.js";

/**
 * Every input of an OIP ModelInferRequest, by name, in request order. raw_input_contents,
 * when present, must hold one entry per input, in the same order (the protocol's rule).
 */
export function inputsFromInferRequest(request: ModelInferRequest): Map<string, HostTensor> {
  const raw = request.rawInputContents;
  if (raw.length > 0 && raw.length !== request.inputs.length) {
    throw invalidArgument(
      `raw_input_contents has ${raw.length} entries but the request has ${request.inputs.length} inputs; ` +
        `send one entry per input, in the order of inputs`,
    );
  }
  const out = new Map<string, HostTensor>();
  request.inputs.forEach((input, i) => {
    if (out.has(input.name)) {
      throw invalidArgument(`input '${input.name}' appears more than once; send each input once`);
    }
    out.set(input.name, fromInferInput(input, raw.length > 0 ? raw[i] : undefined));
  });
  return out;
}
