import { AckPolicy, DeliverPolicy, JetStreamApiError, jetstream, jetstreamManager, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import { headers as natsHeaders, type NatsConnection } from "@nats-io/transport-node";
import { Counter, Gauge, type Registry } from "prom-client";
import { decodeCloudEvent, handleTraced, natsHeaderReader, schemaMap } from "../../libs/events/index.js";
import { PredictionLogSchema, ShadowComparisonSchema, type PredictionLog, type ShadowComparison } from "../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { silentLogger, type Logger } from "../../libs/log/index.js";
import { translateNatsError } from "../../libs/nats/index.js";
import { DEAD_LETTER_REASON_HEADER, ensurePredictionLogStreams, predictionLogNames } from "../../libs/prediction-log/index.js";
import { groupedAcks } from "./grouped-acks.js";

export interface LogConsumerOptions {
  /** The mesh (TESSERA_MESH) whose logs to read: its `<MESH>_PREDICTIONS` stream. Default "tessera". */
  mesh?: string;
  /** Durable consumer name: a restarted monitoring resumes where it stopped. Default "tessera-monitoring". */
  durable?: string;
  /**
   * Logs delivered but not yet acknowledged, at most. Default 1,000: the
   * server holds the rest, so a replica logging faster than we analyse
   * grows the stream's backlog (bounded by its limits), never our memory.
   */
  maxAckPending?: number;
  /**
   * Where a consumer created now starts: "new", live traffic (the default:
   * windows are about now, not the stream's retained day of logs), or "all"
   * that the stream holds. An existing durable resumes where it stopped.
   */
  startAt?: "new" | "all";
  handle: (log: PredictionLog, timeMs: number) => Promise<void>;
  /** The router's shadow comparisons, from the same stream; without it they are acknowledged and counted only. */
  handleShadow?: (comparison: ShadowComparison, timeMs: number) => void | Promise<void>;
  metrics?: Registry;
  logger?: Logger;
}

export interface LogConsumer {
  /** Logs still waiting in the stream for this consumer. */
  lag(): Promise<number>;
  /** Logs taken (shadow comparisons included), shadow comparisons taken, and messages sent to the dead letter subject. */
  readonly counts: { consumed: number; shadowComparisons: number; deadLettered: number };
  stop(): Promise<void>;
}

const consumerNotFound = 10014;
const schemas = schemaMap<typeof PredictionLogSchema | typeof ShadowComparisonSchema>([PredictionLogSchema, ShadowComparisonSchema]);

/**
 * Reads the mesh's TESSERA_PREDICTIONS (`<MESH>_PREDICTIONS`) with a
 * durable pull consumer, one log at a time: the replicas' PredictionLogs
 * and the router's ShadowComparisons. A message that is neither goes to
 * `<mesh>-predictions-dead` with the reason in a header, and is
 * acknowledged so it is not redelivered forever. Handled logs are
 * acknowledged in groups (grouped-acks.ts), still only after they were handled.
 */
export async function startLogConsumer(nc: NatsConnection, options: LogConsumerOptions): Promise<LogConsumer> {
  const logger = options.logger ?? silentLogger;
  const durable = options.durable ?? "tessera-monitoring";
  const names = predictionLogNames(options.mesh);
  const stream = names.stream;
  await ensurePredictionLogStreams(nc, { mesh: options.mesh });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  try {
    try {
      await jsm.consumers.info(stream, durable);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === consumerNotFound)) throw err;
      await jsm.consumers.add(stream, {
        durable_name: durable,
        ack_policy: AckPolicy.Explicit,
        deliver_policy: options.startAt === "all" ? DeliverPolicy.All : DeliverPolicy.New,
        max_ack_pending: options.maxAckPending ?? 1000,
        // A log whose handling hung is delivered again after this long.
        ack_wait: 30_000_000_000,
      });
    }
  } catch (err) {
    throw translateNatsError(err, `creating the durable consumer ${durable} on ${stream}`);
  }
  const consumer = await js.consumers.get(stream, durable);
  const counts = { consumed: 0, shadowComparisons: 0, deadLettered: 0 };
  const registers = options.metrics ? [options.metrics] : [];
  const deadLetters = new Counter({ name: "tessera_monitoring_dead_letters_total", help: "Prediction-log messages that could not be read.", registers });
  const lag = async () => (await consumer.info(true)).num_pending;
  new Gauge({
    name: "tessera_monitoring_log_lag_messages",
    help: "Prediction logs waiting in JetStream for monitoring.",
    registers,
    async collect() {
      try {
        this.set(await lag());
      } catch {
        // NATS away: keep the last value rather than fail the scrape.
      }
    },
  });

  // Acknowledged (or refused, to be redelivered) at once: a dead letter is rare.
  const deadLetter = async (m: JsMsg, problem: string) => {
    const h = natsHeaders();
    if (m.headers) for (const [k, v] of m.headers) for (const value of v) h.append(k, value);
    h.set(DEAD_LETTER_REASON_HEADER, problem);
    h.set("tessera-original-subject", m.subject);
    try {
      await js.publish(names.deadLetterSubject, m.data, { headers: h });
      counts.deadLettered++;
      deadLetters.inc();
      m.ack();
    } catch (error) {
      logger.warn("could not dead-letter a prediction log; it will be redelivered", { error });
      m.nak(1000);
    }
  };

  let messages: ConsumerMessages | undefined;
  let stopping = false;
  const done = (async () => {
    while (!stopping) {
      try {
        messages = await consumer.consume({ max_messages: 256 });
        const acks = groupedAcks();
        try {
          for await (const m of messages) {
            const decoded = decodeCloudEvent(m.subject, natsHeaderReader(m.headers), m.data, schemas);
            if ("problem" in decoded) {
              await deadLetter(m, decoded.problem);
            } else {
              try {
                // A consumer span per log, a child of the request that was answered (traceparent in the headers).
                await handleTraced(decoded.event, async (event) => {
                  const message = event.message;
                  if (message.$typeName === ShadowComparisonSchema.typeName) {
                    counts.shadowComparisons++;
                    await options.handleShadow?.(message, event.time.getTime());
                  } else await options.handle(message, event.time.getTime());
                });
              } catch (error) {
                logger.warn("a prediction log could not be handled", { subject: m.subject, error });
              }
              counts.consumed++;
              acks.handled(m);
            }
          }
        } finally {
          // Stopped or failed: what was handled is still acknowledged, so it is not delivered again.
          acks.flush();
        }
        // The iterator ended without an error (consumer deleted?): ask again, not in a tight loop.
        if (!stopping) await pause(1000);
      } catch (error) {
        if (stopping) break;
        logger.warn("prediction log consumption stopped; restarting it", { error });
        await pause(1000);
      }
    }
  })();

  return {
    lag,
    counts,
    async stop() {
      stopping = true;
      await messages?.close();
      await done;
    },
  };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
