import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { AckPolicy, DeliverPolicy, JetStreamApiError, jetstream, jetstreamManager } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { invalidArgument } from "../errors/index.js";
import { silentLogger, type Logger } from "../log/index.js";
import { meshNames, type MeshNames } from "../mesh-names/index.js";
import { translateNatsError } from "../nats/index.js";
import { schemaMap } from "./cloud-event.js";
import { decodeNatsCloudEvent } from "./decode-nats-event.js";
import type { EventHandler, Unsubscribe } from "./event-bus.js";
import { handleTraced } from "./event-tracing.js";
import { validateSubjectPattern } from "./validate-subject.js";

export interface ConsumeEventsOptions<Desc extends DescMessage> {
  /**
   * The durable consumer's name, e.g. "monitoring-logs": the server keeps
   * the position under it, so a consumer that stops and starts again
   * resumes after the last event it acknowledged. One name per reader;
   * processes sharing a name share the work.
   */
  durable: string;
  /** Logical subject pattern, e.g. "tessera.registry.>" (the mesh's prefix is applied). */
  pattern: string;
  schemas: Desc | readonly Desc[];
  /**
   * Called once per event, in stream order; the event is acknowledged when
   * it returns. A handler that throws gets the event again after
   * `retryDelayMs`, at most `maxDeliveries` times in all, then it is logged
   * and skipped (a poison event must not stop the stream).
   */
  handler: EventHandler<MessageShape<Desc>>;
  /** Where to start the first time this durable is created: "new" (default) or "all" the stream still holds. */
  startAt?: "new" | "all";
  /** Default 5. */
  maxDeliveries?: number;
  /** Default 1000 ms. */
  retryDelayMs?: number;
  /**
   * How long an event may be in the handler before the server sends it
   * again. Default 30 s: longer than any handler should take, so an event
   * is redelivered only when its reader died.
   */
  ackWaitMs?: number;
  names?: MeshNames;
  logger?: Logger;
}

const consumerNotFound = 10014;
const DURABLE_NAME = /^[-_a-zA-Z0-9]{1,64}$/;

/**
 * Reads events from the mesh's events stream (TESSERA_EVENTS) with a
 * durable JetStream consumer: at-least-once delivery that survives the
 * reader's restarts and NATS disconnects, for services that must not miss
 * an event. Handlers must tolerate a redelivered event (same ce-id) and an
 * old one (compare the revision it carries).
 */
export async function consumeEvents<Desc extends DescMessage>(nc: NatsConnection, options: ConsumeEventsOptions<Desc>): Promise<Unsubscribe> {
  const names = options.names ?? meshNames();
  const logger = options.logger ?? silentLogger;
  if (!DURABLE_NAME.test(options.durable)) throw invalidArgument(`durable "${options.durable}" is not valid: use 1-64 letters, digits, - and _`);
  validateSubjectPattern(options.pattern);
  const bySchema = schemaMap(options.schemas);
  const stream = names.eventsStream;
  const filter = names.subject(options.pattern);
  const maxDeliveries = options.maxDeliveries ?? 5;
  const what = `opening durable consumer ${options.durable} on stream ${stream}`;
  let messages: Awaited<ReturnType<Awaited<ReturnType<ReturnType<typeof jetstream>["consumers"]["get"]>>["consume"]>>;
  try {
    const jsm = await jetstreamManager(nc);
    try {
      const info = await jsm.consumers.info(stream, options.durable);
      if (info.config.filter_subject !== filter) {
        throw invalidArgument(`durable consumer ${options.durable} already reads ${info.config.filter_subject ?? "everything"}, not ${filter}: pick another durable name`);
      }
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === consumerNotFound)) throw err;
      await jsm.consumers.add(stream, {
        durable_name: options.durable,
        filter_subject: filter,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: options.startAt === "all" ? DeliverPolicy.All : DeliverPolicy.New,
        max_deliver: maxDeliveries,
        ack_wait: nanos(options.ackWaitMs ?? 30_000),
      });
    }
    const consumer = await jetstream(nc).consumers.get(stream, options.durable);
    messages = await consumer.consume({ max_messages: 64 });
  } catch (err) {
    throw translateNatsError(err, what);
  }
  const done = (async () => {
    for await (const m of messages) {
      const decoded = decodeNatsCloudEvent(m, names, bySchema);
      if ("problem" in decoded) {
        logger.warn("skipped an event", { subject: m.subject, durable: options.durable, problem: decoded.problem });
        m.term(decoded.problem);
        continue;
      }
      try {
        await handleTraced(decoded.event, options.handler);
        m.ack();
      } catch (err) {
        const last = m.info.deliveryCount >= maxDeliveries;
        logger.warn(last ? "an event handler failed for the last time; skipping the event" : "an event handler failed; the event comes again", {
          subject: m.subject,
          id: decoded.event.id,
          durable: options.durable,
          delivery: m.info.deliveryCount,
          error: err,
        });
        if (last) m.term("handler failed");
        else m.nak(options.retryDelayMs ?? 1000);
      }
    }
  })().catch((err: unknown) => logger.warn("a durable event consumer ended with an error", { durable: options.durable, error: err }));
  return async () => {
    await messages.close();
    await done;
  };
}
