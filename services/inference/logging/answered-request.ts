import type { Target } from "../serving/served-table.js";
import type { ReadyVersion } from "../serving/served-version.js";
import type { HostTensor, TensorMap } from "../tensor/index.js";

/** One request the replica answered (or failed), as observers (prediction logging) see it. */
export interface AnsweredRequest {
  readonly target: Target;
  readonly version: ReadyVersion;
  readonly inputs: TensorMap;
  readonly outputs: ReadonlyMap<string, HostTensor>;
  readonly rows: number;
  readonly latencyUs: number;
  /** A failed request's gRPC status code name ("InvalidArgument", ...); its outputs are empty. */
  readonly errorCode?: string;
}

/** Called on the request path: must return at once and never throw. */
export type AnswerObserver = (answer: AnsweredRequest) => void;
