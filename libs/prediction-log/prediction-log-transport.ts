import { jetstream } from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { decodeCloudEvent, schemaMap, type CloudEventEnvelope } from "../events/index.js";
import { PredictionLogSchema, type PredictionLog } from "../gen/tessera/events/v1/prediction_log_pb.js";
import { meshNames } from "../mesh-names/index.js";

/** Where encoded prediction logs go: JetStream, or an in-process queue in embedded mode. */
export interface PredictionLogTransport {
  /** Resolves once stored; rejects when it was not. */
  publish(subject: string, envelope: CloudEventEnvelope): Promise<void>;
}

/**
 * JetStream publishes, acknowledged, deduplicated by the CloudEvent id, on
 * the mesh's subjects: the logical `tessera-predictions.<model>.<version>`
 * becomes `<mesh>-predictions.…` (TESSERA_MESH; default "tessera").
 */
export function natsPredictionLogTransport(nc: NatsConnection, options: { mesh?: string } = {}): PredictionLogTransport {
  const js = jetstream(nc);
  const names = meshNames(options.mesh);
  return {
    async publish(subject, envelope) {
      const h = natsHeaders();
      for (const [name, value] of Object.entries(envelope.headers)) h.set(name, value);
      await js.publish(names.subject(subject), envelope.data, { headers: h, msgID: envelope.headers["ce-id"] });
    },
  };
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
