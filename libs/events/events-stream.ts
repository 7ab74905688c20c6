import { DiscardPolicy, JetStreamApiError, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { failedPrecondition } from "../errors/index.js";
import { meshNames, type MeshNames } from "../mesh-names/index.js";
import { translateNatsError } from "../nats/index.js";

/** The JetStream stream that keeps every event, for consumers that were away. */
export const EVENTS_STREAM = "TESSERA_EVENTS";
/** What it captures: every subject under `tessera.` (so never use request/reply there: the stream would answer). */
export const EVENTS_SUBJECTS = "tessera.>";

export interface EventsStreamOptions {
  /**
   * How long events are kept, in milliseconds. Default 7 days: a consumer
   * that was down over a long weekend can still catch up.
   */
  maxAgeMs?: number;
  /** Bytes kept at most, oldest dropped first. Default 1 GiB, so a laptop's disk is not filled by prediction logs. */
  maxBytes?: number;
  /**
   * Copies of every event kept by a NATS cluster. Default 1; a clustered
   * server should get 3, or one server's loss loses the events.
   */
  replicas?: number;
  /** The mesh whose stream this is. Default: the `tessera` mesh (TESSERA_EVENTS on `tessera.>`). */
  names?: MeshNames;
}

const streamNotFound = 10059;
const streamNameInUse = 10058;
const subjectsOverlap = 10065;

/**
 * Creates the events stream when it is missing (an existing one is kept as
 * configured: operators may have tuned it). Safe to call from several
 * services starting at once.
 */
export async function ensureEventsStream(nc: NatsConnection, options: EventsStreamOptions = {}): Promise<void> {
  const names = options.names ?? meshNames();
  const stream = names.eventsStream;
  const subjects = names.eventsSubjects;
  const what = `making sure JetStream stream ${stream} exists`;
  try {
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(stream);
      return;
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === streamNotFound)) throw err;
    }
    try {
      await jsm.streams.add({
        name: stream,
        subjects: [subjects],
        num_replicas: options.replicas ?? 1,
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        max_age: nanos(options.maxAgeMs ?? 7 * 24 * 60 * 60 * 1000),
        max_bytes: options.maxBytes ?? 1024 * 1024 * 1024,
        // Publishes carry the CloudEvent id as Nats-Msg-Id: a retried publish is stored once.
        duplicate_window: nanos(2 * 60 * 1000),
      });
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === streamNameInUse) return; // another service won the race
      if (err instanceof JetStreamApiError && err.code === subjectsOverlap) {
        throw failedPrecondition(
          `${what}: another JetStream stream already captures subjects under ${subjects} (${err.message}); remove it or rename it to ${stream}`,
          err,
        );
      }
      throw err;
    }
  } catch (err) {
    throw translateNatsError(err, what);
  }
}
