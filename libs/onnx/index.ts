export { readSignature } from "./read-signature.js";
export { readSignatureFromStream } from "./read-signature-stream.js";
export {
  buildModel,
  float32Initializer,
  int64Initializer,
  node,
  tensorValue,
  BUILT_IR_VERSION,
  BUILT_OPSET,
  type AttributeValue,
  type DimSpec,
  type ModelOptions,
} from "./build-model.js";
export { buildMlp, mlpLayers, mlpReference, type MlpLayer, type MlpSpec } from "./mlp.js";
export {
  buildGatherModel,
  gatherReference,
  gatherTable,
  GATHER_TABLE_ROWS,
  GATHER_WIDTH,
  type GatherModelSpec,
} from "./gather-model.js";
export { mulberry32 } from "./mulberry32.js";
