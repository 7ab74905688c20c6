export { readSignature } from "./read-signature.js";
export { readModelFromStream, readSignatureFromStream, type ModelOutline } from "./read-signature-stream.js";
export { externalDataOf, type ExternalDataRef } from "./external-data-refs.js";
export { withExternalData, type ExternalDataModel } from "./with-external-data.js";
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
