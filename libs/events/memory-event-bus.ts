import type { DescMessage, MessageShape } from "@bufbuild/protobuf";
import { silentLogger, type Logger } from "../log/index.js";
import { decodeCloudEvent, encodeCloudEvent, schemaMap, type CloudEventEnvelope } from "./cloud-event.js";
import type { EventBus, EventHandler, Unsubscribe } from "./event-bus.js";
import { handleTraced, publishTraced } from "./event-tracing.js";
import { subjectMatches } from "./subject-matches.js";
import { validateSubject, validateSubjectPattern } from "./validate-subject.js";

export interface MemoryEventBusOptions {
  /** Where skipped events and failing handlers are reported. Default: dropped. */
  logger?: Logger;
}

interface Subscription {
  pattern: string;
  deliver(subject: string, envelope: CloudEventEnvelope): void;
  stop(): Promise<void>;
}

/**
 * The embedded EventBus: subscribers in this process. Events are encoded
 * and decoded exactly as on NATS (so a subscriber gets its own copy, and a
 * type mismatch shows up here too) and delivered after publish returns.
 */
export function createMemoryEventBus(options: MemoryEventBusOptions = {}): EventBus {
  const logger = options.logger ?? silentLogger;
  const subscriptions = new Set<Subscription>();

  return {
    async publish(subject, schema, message, publishOptions) {
      validateSubject(subject);
      await publishTraced(subject, schema.typeName, publishOptions, async (traceContext) => {
        const envelope = encodeCloudEvent(schema, message, { ...publishOptions, ...traceContext });
        for (const s of subscriptions) {
          if (subjectMatches(s.pattern, subject)) s.deliver(subject, envelope);
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
      const queue: { subject: string; envelope: CloudEventEnvelope }[] = [];
      let stopped = false;
      let draining: Promise<void> | undefined;

      // One event at a time, in order, like a NATS subscription's loop.
      const drain = async () => {
        await Promise.resolve();
        while (!stopped && queue.length > 0) {
          const { subject, envelope } = queue.shift() as (typeof queue)[number];
          const decoded = decodeCloudEvent(subject, (name) => envelope.headers[name], envelope.data, bySchema);
          if ("problem" in decoded) {
            logger.warn("skipped an event", { subject, pattern, problem: decoded.problem });
            continue;
          }
          try {
            await handleTraced(decoded.event, handler);
          } catch (err) {
            logger.warn("an event handler failed", { subject, type: decoded.event.type, id: decoded.event.id, error: err });
          }
        }
        draining = undefined;
      };

      const subscription: Subscription = {
        pattern,
        deliver(subject, envelope) {
          queue.push({ subject, envelope });
          draining ??= drain();
        },
        async stop() {
          stopped = true;
          subscriptions.delete(subscription);
          await draining;
        },
      };
      subscriptions.add(subscription);
      return () => subscription.stop();
    },

    async close() {
      await Promise.all([...subscriptions].map((s) => s.stop()));
    },
  };
}
