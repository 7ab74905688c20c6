import { loggingPolicyFromTags, type LoggingPolicy, type PredictionLogPublisher } from "../../../libs/prediction-log/index.js";
import type { Logger } from "../../../libs/log/index.js";
import type { AnswerObserver } from "./answered-request.js";
import { buildPredictionLog } from "./build-prediction-log.js";

/**
 * Hands every answered request to the publisher under its version's logging
 * policy (tags `tessera.log.sample_rate`, `tessera.log.inputs` over the
 * replica's default). Costs the request a closure; the message is built
 * when the batch is published.
 */
export function predictionLogObserver(
  publisher: PredictionLogPublisher,
  options: { replicaId: string; defaultPolicy: LoggingPolicy; logger: Logger },
): AnswerObserver {
  // Policies by version record, so tags are parsed once per loaded version.
  const policies = new WeakMap<object, LoggingPolicy>();
  const policyOf = (record: { tags: Record<string, string> } | undefined): LoggingPolicy => {
    if (!record) return options.defaultPolicy;
    let policy = policies.get(record);
    if (!policy) {
      try {
        policy = loggingPolicyFromTags(record.tags, options.defaultPolicy);
      } catch (error) {
        options.logger.warn("ignoring a bad logging policy tag; using the replica's default", { error });
        policy = options.defaultPolicy;
      }
      policies.set(record, policy);
    }
    return policy;
  };
  return (answer) => {
    const policy = policyOf(answer.version.modelVersion);
    if (policy.sampleRate <= 0) return;
    const timeMs = Date.now();
    publisher.offer(answer.version.model, answer.version.version, policy.sampleRate, () =>
      buildPredictionLog(answer, { replicaId: options.replicaId, inputRows: policy.inputRows, sampleRate: policy.sampleRate, timeMs }),
    );
  };
}
