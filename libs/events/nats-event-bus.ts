import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { jetstream } from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { silentLogger, type Logger } from "../log/index.js";
import { meshNames, type MeshNames } from "../mesh-names/index.js";
import { translateNatsError } from "../nats/index.js";
import { encodeCloudEvent, schemaMap } from "./cloud-event.js";
import { decodeNatsCloudEvent } from "./decode-nats-event.js";
import type { EventBus, EventHandler, Unsubscribe } from "./event-bus.js";
import { handleTraced, publishTraced } from "./event-tracing.js";
import { ensureEventsStream, type EventsStreamOptions } from "./events-stream.js";
import { subjectMatches } from "./subject-matches.js";
import { validateSubject, validateSubjectPattern } from "./validate-subject.js";

export interface NatsEventBusOptions {
  /**
   * Keep events in the TESSERA_EVENTS stream (created when missing) and
   * publish subjects under `tessera.` with a JetStream acknowledgement, so a
   * publish that resolved is stored. Default true. With false, every publish
   * is fire-and-forget core NATS (the stream, if it exists, still captures).
   */
  durable?: boolean;
  /** Limits for the stream when this call creates it. */
  stream?: Omit<EventsStreamOptions, "names">;
  /**
   * The mesh this bus belongs to. Callers name subjects as in the `tessera`
   * mesh (`tessera.registry.alias.moved`); the bus sends and subscribes
   * under this mesh's prefix and hands subscribers the logical subject, so
   * two meshes on one NATS never see each other's events. Default: `tessera`.
   */
  names?: MeshNames;
  /** Where skipped events and failing handlers are reported. Default: dropped. */
  logger?: Logger;
}

/**
 * The EventBus on NATS. Subscribers use core NATS subscriptions: they get
 * events published while they are subscribed, which is what notifications
 * need. A consumer that must not miss events while it is down reads the
 * TESSERA_EVENTS stream with a durable JetStream consumer instead.
 */
export async function openNatsEventBus(nc: NatsConnection, options: NatsEventBusOptions = {}): Promise<EventBus> {
  const logger = options.logger ?? silentLogger;
  const durable = options.durable ?? true;
  const names = options.names ?? meshNames();
  if (durable) await ensureEventsStream(nc, { ...options.stream, names });
  const js = jetstream(nc);
  const unsubscribes = new Set<Unsubscribe>();

  return {
    async publish(subject, schema, message, publishOptions) {
      validateSubject(subject);
      const wire = names.subject(subject);
      await publishTraced(wire, schema.typeName, publishOptions, async (traceContext) => {
        const envelope = encodeCloudEvent(schema, message, { ...publishOptions, ...traceContext });
        const h = natsHeaders();
        for (const [name, value] of Object.entries(envelope.headers)) h.set(name, value);
        try {
          if (durable && subjectMatches(names.eventsSubjects, wire)) {
            await js.publish(wire, envelope.data, { headers: h, msgID: envelope.headers["ce-id"] });
          } else {
            nc.publish(wire, envelope.data, { headers: h });
          }
        } catch (err) {
          throw translateNatsError(err, `publishing ${schema.typeName} on ${wire}`);
        }
      });
    },

    async subscribe<Desc extends DescMessage>(
      pattern: string,
      schemas: Desc | readonly Desc[],
      handler: EventHandler<MessageShape<Desc>>,
    ): Promise<Unsubscribe> {
      validateSubjectPattern(pattern);
      const bySchema = schemaMap(schemas);
      const sub = nc.subscribe(names.subject(pattern));
      const done = (async () => {
        for await (const m of sub) {
          const decoded = decodeNatsCloudEvent(m, names, bySchema);
          if ("problem" in decoded) {
            logger.warn("skipped an event", { subject: m.subject, pattern, problem: decoded.problem });
            continue;
          }
          try {
            await handleTraced(decoded.event, handler);
          } catch (err) {
            const { type, id } = decoded.event;
            logger.warn("an event handler failed", { subject: m.subject, type, id, error: err });
          }
        }
      })().catch((err: unknown) => {
        logger.warn("an event subscription ended with an error", { pattern, error: err });
      });
      try {
        // The subscription is active once the server has seen it.
        await nc.flush();
      } catch (err) {
        sub.unsubscribe();
        throw translateNatsError(err, `subscribing to ${pattern}`);
      }
      const unsubscribe: Unsubscribe = async () => {
        unsubscribes.delete(unsubscribe);
        if (!sub.isClosed()) sub.unsubscribe();
        await done;
      };
      unsubscribes.add(unsubscribe);
      return unsubscribe;
    },

    async close() {
      await Promise.all([...unsubscribes].map((u) => u()));
    },
  };
}
