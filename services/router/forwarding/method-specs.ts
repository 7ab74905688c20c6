/** What the router needs to know of a method it forwards. */
export interface ForwardedMethod {
  /** gRPC path, /package.Service/Method. */
  path: string;
  /** How the request carries its version (field 2). */
  versionKind: "varint" | "string";
  /** Whether routes apply (inference calls) or any replica of the model will do (metadata). */
  routed: boolean;
  /** For shadow comparison and the default response. */
  kind?: "predict" | "infer";
}

export const PREDICT: ForwardedMethod = { path: "/tessera.inference.v1.InferenceService/Predict", versionKind: "varint", routed: true, kind: "predict" };
export const MODEL_INFER: ForwardedMethod = { path: "/inference.GRPCInferenceService/ModelInfer", versionKind: "string", routed: true, kind: "infer" };
export const MODEL_METADATA: ForwardedMethod = { path: "/inference.GRPCInferenceService/ModelMetadata", versionKind: "string", routed: false };
export const MODEL_STATISTICS: ForwardedMethod = { path: "/inference.GRPCInferenceService/ModelStatistics", versionKind: "string", routed: false };
