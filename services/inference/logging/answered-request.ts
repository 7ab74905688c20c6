import type { Target } from "../serving/served-table.js";
import type { ReadyVersion } from "../serving/served-version.js";
import type { HostTensor, TensorMap } from "../tensor/index.js";
import type { RequestOrigin } from "./request-origin.js";

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
  /** Where it came from (trace, entity, the router's decision); read only when its log is built. */
  readonly origin?: () => RequestOrigin;
}

/** Called on the request path: must return at once and never throw. */
export type AnswerObserver = (answer: AnsweredRequest) => void;
