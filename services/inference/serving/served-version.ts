import { create } from "@bufbuild/protobuf";
import type { ConnectError } from "../../../libs/errors/index.js";
import { ModelState, ServedModelSchema, type ServedModel } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { BatchingConfigSchema, QueuePolicySchema, TimeoutAction, type BatchingConfig } from "../../../libs/gen/tessera/registry/v1/batching_pb.js";
import type { ModelVersion } from "../../../libs/gen/tessera/registry/v1/registry_pb.js";
import type { Signature } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import type { BatchingOptions } from "../batching/index.js";
import type { ModelRunner } from "../runtime/model-runner.js";
import type { VersionSlot } from "./served-table.js";

/** One model version on this replica, from LOADING to gone. */
export interface ServedVersion extends VersionSlot {
  /** From the registry, once fetched. */
  modelVersion?: ModelVersion;
  signature?: Signature;
  /** Set when READY; released when UNLOADING ends. */
  runner?: ModelRunner;
  /** Settles when the load in progress ends (READY or FAILED). */
  loading?: Promise<void>;
  /** Settles when the unload in progress ends. */
  unloading?: Promise<void>;
  /** Why the load failed, with its code, when FAILED. */
  failure?: ConnectError;
}

/** A version READY to serve: what resolve() hands the handlers. */
export type ReadyVersion = ServedVersion & { readonly runner: ModelRunner; readonly signature: Signature };

const STATES: Record<ServedVersion["state"], ModelState> = {
  LOADING: ModelState.LOADING,
  READY: ModelState.READY,
  FAILED: ModelState.FAILED,
  UNLOADING: ModelState.UNLOADING,
};

/** The ServedModel message for a version (ListServedModels, LoadModel, membership). */
export function toServedModel(slot: ServedVersion, aliases: readonly string[], device: string, instanceCount: number): ServedModel {
  return create(ServedModelSchema, {
    model: slot.model,
    version: slot.version,
    aliases: [...aliases],
    state: STATES[slot.state],
    error: slot.error ?? "",
    device,
    instanceCount: slot.runner?.instanceCount ?? instanceCount,
    signature: slot.signature,
    batching: slot.runner ? toBatchingConfig(slot.runner.batching) : slot.modelVersion?.batching,
    queueDepth: slot.runner?.queueDepth ?? 0,
    sessionPlacement: slot.runner?.placement.placement ?? "",
  });
}

/** The batching a version runs with (registry config plus replica overrides), as the proto carries it. */
export function toBatchingConfig(options: BatchingOptions): BatchingConfig {
  const policy = (p: BatchingOptions["queuePolicies"][number]) =>
    create(QueuePolicySchema, {
      timeoutAction: p.timeoutAction === "delay" ? TimeoutAction.DELAY : TimeoutAction.REJECT,
      defaultTimeoutUs: BigInt(p.defaultTimeoutUs),
      allowTimeoutOverride: p.allowTimeoutOverride,
      maxQueueSize: p.maxQueueSize,
    });
  const first = options.queuePolicies[0];
  return create(BatchingConfigSchema, {
    enabled: options.enabled,
    maxBatchSize: options.maxBatchSize,
    maxQueueDelayUs: BigInt(options.maxQueueDelayUs),
    preferredBatchSizes: [...options.preferredBatchSizes],
    maxQueueSize: options.maxQueueSize,
    priorityLevels: options.priorityLevels,
    defaultPriority: options.defaultPriority,
    defaultQueuePolicy: first ? policy(first) : undefined,
    priorityQueuePolicy: Object.fromEntries(options.queuePolicies.map((p, i) => [i + 1, policy(p)])),
    padToPreferred: options.padToPreferred,
    splitOversized: options.splitOversized,
  });
}
