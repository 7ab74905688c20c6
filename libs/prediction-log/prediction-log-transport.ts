import { jetstream } from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import type { CloudEventEnvelope } from "../events/index.js";

/** Where encoded prediction logs go: JetStream, or an in-process queue in embedded mode. */
export interface PredictionLogTransport {
  /** Resolves once stored; rejects when it was not. */
  publish(subject: string, envelope: CloudEventEnvelope): Promise<void>;
}

/** JetStream publishes, acknowledged, deduplicated by the CloudEvent id. */
export function natsPredictionLogTransport(nc: NatsConnection): PredictionLogTransport {
  const js = jetstream(nc);
  return {
    async publish(subject, envelope) {
      const h = natsHeaders();
      for (const [name, value] of Object.entries(envelope.headers)) h.set(name, value);
      await js.publish(subject, envelope.data, { headers: h, msgID: envelope.headers["ce-id"] });
    },
  };
}
