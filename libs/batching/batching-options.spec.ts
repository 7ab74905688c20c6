import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../errors/index.js";
import {
  BatchingConfigSchema,
  QueuePolicySchema,
  TimeoutAction,
  type BatchingConfig,
} from "../gen/tessera/registry/v1/batching_pb.js";
import { batchingDefaults, resolveBatchingOptions, type BatchingOverrides } from "./batching-options.js";

const config = (init: Parameters<typeof create<typeof BatchingConfigSchema>>[1]): BatchingConfig =>
  create(BatchingConfigSchema, init);

describe("resolveBatchingOptions()", () => {
  it("turns batching off with every default when there is no config", () => {
    const o = resolveBatchingOptions(undefined);
    expect(o).toEqual({
      enabled: false,
      maxBatchSize: 0,
      maxQueueDelayUs: 2000,
      preferredBatchSizes: [],
      maxQueueSize: 1024,
      priorityLevels: 2,
      defaultPriority: 1,
      queuePolicies: [batchingDefaults.queuePolicy, batchingDefaults.queuePolicy],
      padToPreferred: false,
      splitOversized: false,
      isolateFailures: true,
    });
  });

  it("fills proto3 zeros with the defaults and keeps what is set", () => {
    const o = resolveBatchingOptions(config({ enabled: true, maxBatchSize: 16, preferredBatchSizes: [8, 4, 8] }));
    expect(o.enabled).toBe(true);
    expect(o.maxBatchSize).toBe(16);
    expect(o.maxQueueDelayUs).toBe(2000);
    expect(o.maxQueueSize).toBe(1024);
    expect(o.preferredBatchSizes).toEqual([4, 8]);
  });

  it("reads queue policies from the config, per level over the default", () => {
    const o = resolveBatchingOptions(
      config({
        enabled: true,
        maxBatchSize: 8,
        priorityLevels: 3,
        defaultPriority: 2,
        defaultQueuePolicy: create(QueuePolicySchema, { timeoutAction: TimeoutAction.DELAY, defaultTimeoutUs: 5000n }),
        priorityQueuePolicy: { 3: create(QueuePolicySchema, { maxQueueSize: 10, allowTimeoutOverride: true }) },
      }),
    );
    expect(o.defaultPriority).toBe(2);
    expect(o.queuePolicies).toEqual([
      { timeoutAction: "delay", defaultTimeoutUs: 5000, allowTimeoutOverride: false, maxQueueSize: 0 },
      { timeoutAction: "delay", defaultTimeoutUs: 5000, allowTimeoutOverride: false, maxQueueSize: 0 },
      { timeoutAction: "reject", defaultTimeoutUs: 0, allowTimeoutOverride: true, maxQueueSize: 10 },
    ]);
  });

  it("lets a replica's overrides win, including an explicit 0 delay", () => {
    const o = resolveBatchingOptions(config({ enabled: true, maxBatchSize: 8, maxQueueDelayUs: 5000n }), {
      maxQueueDelayUs: 0,
      maxBatchSize: 4,
      isolateFailures: false,
      queuePolicies: { 2: { timeoutAction: "delay" } },
    });
    expect(o.maxQueueDelayUs).toBe(0);
    expect(o.maxBatchSize).toBe(4);
    expect(o.isolateFailures).toBe(false);
    expect(o.queuePolicies[0]?.timeoutAction).toBe("reject");
    expect(o.queuePolicies[1]).toEqual({ ...batchingDefaults.queuePolicy, timeoutAction: "delay" });
  });

  const bad: { name: string; config?: BatchingConfig; overrides?: BatchingOverrides; field: string }[] = [
    { name: "max_batch_size 0 when enabled", config: config({ enabled: true }), field: "max_batch_size" },
    {
      name: "a preferred size above max_batch_size",
      config: config({ enabled: true, maxBatchSize: 8, preferredBatchSizes: [4, 16] }),
      field: "preferred_batch_sizes",
    },
    { name: "a preferred size of 0", overrides: { enabled: true, maxBatchSize: 8, preferredBatchSizes: [0] }, field: "preferred_batch_sizes" },
    {
      name: "default_priority above the levels",
      config: config({ enabled: true, maxBatchSize: 8, priorityLevels: 2, defaultPriority: 3 }),
      field: "default_priority",
    },
    {
      name: "a policy key outside 1..levels",
      config: config({ enabled: true, maxBatchSize: 8, priorityQueuePolicy: { 3: create(QueuePolicySchema, {}) } }),
      field: "priority_queue_policy",
    },
    { name: "a policy key of 0", overrides: { queuePolicies: { 0: { maxQueueSize: 1 } } }, field: "priority_queue_policy" },
    {
      name: "pad_to_preferred without preferred sizes",
      config: config({ enabled: true, maxBatchSize: 8, padToPreferred: true }),
      field: "pad_to_preferred",
    },
    { name: "a delay of hours (µs read as ms?)", overrides: { maxQueueDelayUs: 7_200_000_000 }, field: "max_queue_delay_us" },
    { name: "a negative override", overrides: { maxQueueSize: -1 }, field: "max_queue_size" },
    { name: "a fractional override", overrides: { enabled: true, maxBatchSize: 2.5 }, field: "max_batch_size" },
    { name: "a max_queue_size override of 0", overrides: { maxQueueSize: 0 }, field: "max_queue_size" },
    { name: "too many priority levels", overrides: { priorityLevels: 100_000 }, field: "priority_levels" },
    {
      name: "an unknown timeout action",
      overrides: { defaultQueuePolicy: { timeoutAction: "drop" as "reject" } },
      field: "timeout_action",
    },
  ];
  it.each(bad)("throws INVALID_ARGUMENT naming the field for $name", ({ config: c, overrides, field }) => {
    let caught: unknown;
    try {
      resolveBatchingOptions(c, overrides);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConnectError);
    expect((caught as ConnectError).code).toBe(Code.InvalidArgument);
    expect((caught as ConnectError).message).toContain(field);
  });

  it("does not check preferred sizes against max_batch_size while batching is off", () => {
    expect(resolveBatchingOptions(config({ preferredBatchSizes: [64] })).preferredBatchSizes).toEqual([64]);
  });
});
