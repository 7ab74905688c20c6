import type { NatsConnection } from "@nats-io/transport-node";
import { decodeCloudEvent, schemaMap, type CloudEventEnvelope } from "../events/index.js";
import { PredictionLogSchema, type PredictionLog } from "../gen/tessera/events/v1/prediction_log_pb.js";
import { meshNames } from "../mesh-names/index.js";
import { JetStreamAsyncPublisher } from "./jetstream-async-publish.js";

/** Where encoded prediction logs go: JetStream, or an in-process queue in embedded mode. */
export interface PredictionLogTransport {
  /** Resolves once stored; rejects when it was not. */
  publish(subject: string, envelope: CloudEventEnvelope): Promise<void>;
}

/**
 * JetStream publishes, acknowledged, deduplicated by the CloudEvent id, on
 * the mesh's subjects: the logical `tessera-predictions.<model>.<version>`
 * becomes `<mesh>-predictions.…` (TESSERA_MESH; default "tessera"). The acks
 * of every log come back on one subscription (see JetStreamAsyncPublisher).
 */
export function natsPredictionLogTransport(nc: NatsConnection, options: { mesh?: string; ackTimeoutMs?: number } = {}): PredictionLogTransport {
  const publisher = new JetStreamAsyncPublisher(nc, options.ackTimeoutMs);
  const names = meshNames(options.mesh);
  return { publish: (subject, envelope) => publisher.publish(names.subject(subject), envelope) };
}

/**
 * Hands each log straight to a consumer in this process (embedded mode, no
 * NATS): decoded as a subscriber would, so both paths read the same bytes.
 */
export function inProcessPredictionLogTransport(deliver: (log: PredictionLog, timeMs: number) => Promise<void>): PredictionLogTransport {
  const schemas = schemaMap(PredictionLogSchema);
  return {
    async publish(subject, envelope) {
      const decoded = decodeCloudEvent(subject, (name) => envelope.headers[name], envelope.data, schemas);
      if ("problem" in decoded) throw new Error(decoded.problem);
      await deliver(decoded.event.message, decoded.event.time.getTime());
    },
  };
}
