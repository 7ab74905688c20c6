import type { BatchingConfig, QueuePolicy } from "../gen/tessera/registry/v1/batching_pb.js";
import { TimeoutAction } from "../gen/tessera/registry/v1/batching_pb.js";
import { invalidArgument } from "../errors/index.js";

/** What happens to a request whose queue timeout passes before it runs. */
export type TimeoutPolicy = "reject" | "delay";

/** How the requests of one priority level wait. Fully resolved. */
export interface QueuePolicyOptions {
  /** "reject": answer DEADLINE_EXCEEDED; "delay": run it after everything that has not timed out. */
  readonly timeoutAction: TimeoutPolicy;
  /** Queue timeout for a request that carries none, µs; 0: none. */
  readonly defaultTimeoutUs: number;
  /** Whether a request's own queueTimeoutUs is honoured (ignored otherwise, as Triton does). */
  readonly allowTimeoutOverride: boolean;
  /** Most requests of this level that may wait; 0: only the model-wide maxQueueSize bounds it. */
  readonly maxQueueSize: number;
}

/** Dynamic batching for one model version, validated and with every default filled in. */
export interface BatchingOptions {
  /** Off: each request runs alone, in arrival and priority order, through the same queue. */
  readonly enabled: boolean;
  /** Most rows in one model run. 0 only when batching is off, meaning "no limit". */
  readonly maxBatchSize: number;
  /** Longest the oldest queued request waits for a batch to fill, µs. 0: cut at once. */
  readonly maxQueueDelayUs: number;
  /** Sizes to cut at as soon as they are reached; ascending, unique, each <= maxBatchSize. */
  readonly preferredBatchSizes: readonly number[];
  /** Most requests queued over all levels; beyond it submit() answers RESOURCE_EXHAUSTED. */
  readonly maxQueueSize: number;
  /** Number of priority levels; level 1 is served first. */
  readonly priorityLevels: number;
  /** Level of a request that names none (1..priorityLevels). */
  readonly defaultPriority: number;
  /** Policy per level: queuePolicies[level - 1]. */
  readonly queuePolicies: readonly QueuePolicyOptions[];
  /** Pad a cut batch (repeating its last row) to the next preferred size, or to maxBatchSize. */
  readonly padToPreferred: boolean;
  /** Split a request with more rows than maxBatchSize over several runs instead of rejecting it. */
  readonly splitOversized: boolean;
  /**
   * When a batch of several requests fails, re-run its requests in halves
   * (bisecting) so that only the requests that fail on their own get the
   * error; the others get their results. Triton fails the whole batch.
   * Cost: at most 2n-1 extra runs for a batch of n requests that all fail.
   * Skipped for errors that are not about the rows (UNAVAILABLE, CANCELLED,
   * DEADLINE_EXCEEDED, ...), and for outputs without the batch dimension.
   */
  readonly isolateFailures: boolean;
}

/** A replica's own settings, layered over the registry's BatchingConfig. Undefined fields keep it. */
export interface BatchingOverrides {
  readonly enabled?: boolean;
  readonly maxBatchSize?: number;
  readonly maxQueueDelayUs?: number;
  readonly preferredBatchSizes?: readonly number[];
  readonly maxQueueSize?: number;
  readonly priorityLevels?: number;
  readonly defaultPriority?: number;
  readonly defaultQueuePolicy?: Partial<QueuePolicyOptions>;
  /** Per level (key: the level); replaces the default policy's fields it names. */
  readonly queuePolicies?: Readonly<Record<number, Partial<QueuePolicyOptions>>>;
  readonly padToPreferred?: boolean;
  readonly splitOversized?: boolean;
  readonly isolateFailures?: boolean;
}

/**
 * The defaults, each with why. proto3 cannot tell 0 from "not set", so a 0
 * in a BatchingConfig takes the default below; an override can still set 0.
 */
export const batchingDefaults = {
  /**
   * Off. Batching needs a model whose inputs and outputs have a dynamic
   * leading dimension and rows that do not influence each other; only the
   * model's owner can say so, by turning it on.
   */
  enabled: false,
  /**
   * 2000 µs: long enough for concurrent callers to meet in one run on a
   * 2-core replica (a run of a small model takes about as long), short next
   * to a network hop. Triton's 0 never waits, so it batches only under load.
   */
  maxQueueDelayUs: 2000,
  /**
   * 1024 requests: at a max batch of 32 and ~5 ms a run that is ~160 ms of
   * queueing, about what a caller with a sub-second deadline can absorb.
   * Past it, answering RESOURCE_EXHAUSTED at once lets the router go to
   * another replica; Triton's unbounded default lets latency grow until
   * every caller times out.
   */
  maxQueueSize: 1024,
  /**
   * 2 levels, and a request that names none gets level 1 (the first served):
   * a caller can then only volunteer to yield (batch jobs, backfills send
   * priority 2) and cannot jump ahead of unmarked traffic by asking.
   */
  priorityLevels: 2,
  defaultPriority: 1,
  /**
   * None: ONNX Runtime runs any batch size; cutting at preferred sizes only
   * pays for models with size-specific kernels, and costs fuller batches.
   */
  preferredBatchSizes: [] as readonly number[],
  queuePolicy: {
    /**
     * Reject: a request whose queue timeout passed belongs to a caller that
     * has likely given up; running it takes a slot from one that has not.
     */
    timeoutAction: "reject",
    /** None: the caller's own deadline already bounds its wait. */
    defaultTimeoutUs: 0,
    /** Allowed: a request's own timeout can only make it leave the queue sooner or go last. */
    allowTimeoutOverride: true,
    /** 0: only the model-wide maxQueueSize bounds a level. */
    maxQueueSize: 0,
  } satisfies QueuePolicyOptions,
  /** Padding costs compute on padded rows; worth it only for models warmed up per size. */
  padToPreferred: false,
  /** A request bigger than max_batch_size is more often a client mistake than a plan. */
  splitOversized: false,
  /** One bad request (a NaN, an out-of-range id) should not fail its neighbours. */
  isolateFailures: true,
} as const;

/** Priority levels beyond this are almost surely a typo; each level costs a queue. */
const maxPriorityLevels = 256;
/** A delay over a minute is a unit mistake (µs read as ms), not a batching policy. */
const maxDelayUs = 60_000_000;

/**
 * Turns a model version's BatchingConfig (from the registry) and a replica's
 * overrides into BatchingOptions, once, at load. Throws INVALID_ARGUMENT
 * naming the field when a value cannot work.
 */
export function resolveBatchingOptions(
  config: BatchingConfig | undefined,
  overrides: BatchingOverrides = {},
): BatchingOptions {
  const zeroIsUnset = (n: number | bigint | undefined): number | undefined => {
    if (n === undefined) return undefined;
    const v = Number(n);
    return v === 0 ? undefined : v;
  };

  const enabled = overrides.enabled ?? config?.enabled ?? batchingDefaults.enabled;
  const maxBatchSize = count("max_batch_size", overrides.maxBatchSize ?? config?.maxBatchSize ?? 0);
  if (enabled && maxBatchSize === 0) {
    throw invalidArgument(
      "batching.max_batch_size must be at least 1 when batching is enabled; set it to the most rows the model should see in one run",
    );
  }
  const maxQueueDelayUs = count(
    "max_queue_delay_us",
    overrides.maxQueueDelayUs ?? zeroIsUnset(config?.maxQueueDelayUs) ?? batchingDefaults.maxQueueDelayUs,
  );
  if (maxQueueDelayUs > maxDelayUs) {
    throw invalidArgument(
      `batching.max_queue_delay_us is ${maxQueueDelayUs} µs (${maxQueueDelayUs / 1e6} s); it is in microseconds and at most ${maxDelayUs} (one minute) — 2000 waits 2 ms`,
    );
  }

  const preferredBatchSizes = resolvePreferred(
    overrides.preferredBatchSizes ?? config?.preferredBatchSizes ?? batchingDefaults.preferredBatchSizes,
    enabled,
    maxBatchSize,
  );

  const maxQueueSize = count(
    "max_queue_size",
    overrides.maxQueueSize ?? zeroIsUnset(config?.maxQueueSize) ?? batchingDefaults.maxQueueSize,
  );
  if (maxQueueSize === 0) {
    throw invalidArgument("batching.max_queue_size must be at least 1; it bounds how many requests may wait");
  }

  const priorityLevels = count(
    "priority_levels",
    overrides.priorityLevels ?? zeroIsUnset(config?.priorityLevels) ?? batchingDefaults.priorityLevels,
  );
  if (priorityLevels < 1 || priorityLevels > maxPriorityLevels) {
    throw invalidArgument(`batching.priority_levels is ${priorityLevels}; use 1 to ${maxPriorityLevels}`);
  }
  const defaultPriority = count(
    "default_priority",
    overrides.defaultPriority ?? zeroIsUnset(config?.defaultPriority) ?? batchingDefaults.defaultPriority,
  );
  if (defaultPriority < 1 || defaultPriority > priorityLevels) {
    throw invalidArgument(
      `batching.default_priority is ${defaultPriority} but there are ${priorityLevels} priority levels; use 1 to ${priorityLevels}`,
    );
  }

  const queuePolicies = resolvePolicies(config, overrides, priorityLevels);

  const padToPreferred = overrides.padToPreferred ?? config?.padToPreferred ?? batchingDefaults.padToPreferred;
  if (enabled && padToPreferred && preferredBatchSizes.length === 0) {
    throw invalidArgument(
      "batching.pad_to_preferred needs batching.preferred_batch_sizes: padding goes up to the next preferred size",
    );
  }

  return {
    enabled,
    maxBatchSize,
    maxQueueDelayUs,
    preferredBatchSizes,
    maxQueueSize,
    priorityLevels,
    defaultPriority,
    queuePolicies,
    padToPreferred,
    splitOversized: overrides.splitOversized ?? config?.splitOversized ?? batchingDefaults.splitOversized,
    isolateFailures: overrides.isolateFailures ?? batchingDefaults.isolateFailures,
  };
}

function resolvePreferred(sizes: readonly number[], enabled: boolean, maxBatchSize: number): readonly number[] {
  const out = new Set<number>();
  for (const size of sizes) {
    const n = count("preferred_batch_sizes", size);
    if (n === 0) {
      throw invalidArgument("batching.preferred_batch_sizes has a 0; every preferred size must be at least 1");
    }
    if (enabled && n > maxBatchSize) {
      throw invalidArgument(
        `batching.preferred_batch_sizes has ${n}, above max_batch_size ${maxBatchSize}; a batch can never reach it — lower it or raise max_batch_size`,
      );
    }
    out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

function resolvePolicies(
  config: BatchingConfig | undefined,
  overrides: BatchingOverrides,
  levels: number,
): QueuePolicyOptions[] {
  const base: QueuePolicyOptions = {
    ...(config?.defaultQueuePolicy ? fromProto(config.defaultQueuePolicy, "default_queue_policy") : batchingDefaults.queuePolicy),
    ...defined(overrides.defaultQueuePolicy),
  };
  const perLevel = new Map<number, QueuePolicyOptions>();
  for (const [key, policy] of Object.entries(config?.priorityQueuePolicy ?? {})) {
    const level = checkLevel(Number(key), levels);
    perLevel.set(level, fromProto(policy, `priority_queue_policy[${level}]`));
  }
  for (const [key, policy] of Object.entries(overrides.queuePolicies ?? {})) {
    const level = checkLevel(Number(key), levels);
    perLevel.set(level, { ...(perLevel.get(level) ?? base), ...defined(policy) });
  }
  const out: QueuePolicyOptions[] = [];
  for (let level = 1; level <= levels; level++) {
    out.push(checkPolicy(perLevel.get(level) ?? base, level));
  }
  return out;
}

function fromProto(policy: QueuePolicy, field: string): QueuePolicyOptions {
  const timeoutUs = Number(policy.defaultTimeoutUs);
  if (!Number.isSafeInteger(timeoutUs)) {
    throw invalidArgument(`batching.${field}.default_timeout_us is ${policy.defaultTimeoutUs}, too large; it is in microseconds`);
  }
  return {
    timeoutAction: policy.timeoutAction === TimeoutAction.DELAY ? "delay" : "reject",
    defaultTimeoutUs: timeoutUs,
    allowTimeoutOverride: policy.allowTimeoutOverride,
    maxQueueSize: policy.maxQueueSize,
  };
}

function checkPolicy(policy: QueuePolicyOptions, level: number): QueuePolicyOptions {
  if (policy.timeoutAction !== "reject" && policy.timeoutAction !== "delay") {
    throw invalidArgument(
      `batching.priority_queue_policy[${level}].timeout_action is "${String(policy.timeoutAction)}"; use "reject" or "delay"`,
    );
  }
  count(`priority_queue_policy[${level}].default_timeout_us`, policy.defaultTimeoutUs);
  count(`priority_queue_policy[${level}].max_queue_size`, policy.maxQueueSize);
  return policy;
}

function checkLevel(level: number, levels: number): number {
  if (!Number.isInteger(level) || level < 1 || level > levels) {
    throw invalidArgument(
      `batching.priority_queue_policy has key ${level} but priority levels are 1 to ${levels}; remove it or raise priority_levels`,
    );
  }
  return level;
}

/** A non-negative safe integer, or INVALID_ARGUMENT naming the field. */
function count(field: string, value: number | bigint): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) {
    throw invalidArgument(`batching.${field} is ${String(value)}; it must be a whole number, 0 or more`);
  }
  return n;
}

/** Drops undefined fields, so a spread does not erase what is below. */
function defined<T extends object>(value: T | undefined): Partial<T> {
  if (!value) return {};
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
