export {
  exampleModels,
  exampleModel,
  failingGatherRow,
  type ExampleModel,
  type ExampleTensor,
} from "./example-models.js";
export { ensureExampleModels, type ExampleModelFile } from "./ensure-example-models.js";
export * from "./fraud-features.js";
export { buildBrokenFraud, buildRetrainedFraud, retrainedFraudSpec, CALIBRATION_BUCKETS } from "./fraud-versions.js";
