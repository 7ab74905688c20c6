import { DiscardPolicy, JetStreamApiError, jetstreamManager, RetentionPolicy, StorageType, type StreamConfig } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { translateNatsError } from "../nats/index.js";

/** The JetStream stream that keeps prediction logs. */
export const PREDICTION_LOG_STREAM = "TESSERA_PREDICTIONS";
/**
 * Subjects are `tessera-predictions.<model>.<version>`: outside `tessera.>`,
 * so the week-long TESSERA_EVENTS stream does not also keep them (and two
 * streams may not capture the same subject).
 */
export const PREDICTION_LOG_SUBJECT_PREFIX = "tessera-predictions";
/** Where monitoring puts logs it cannot read, with the reason in a header. */
export const PREDICTION_LOG_DEAD_LETTER_STREAM = "TESSERA_PREDICTIONS_DEAD";
export const PREDICTION_LOG_DEAD_LETTER_SUBJECT = "tessera-predictions-dead";
export const DEAD_LETTER_REASON_HEADER = "tessera-dead-letter-reason";

export function predictionLogSubject(model: string, version: number): string {
  return `${PREDICTION_LOG_SUBJECT_PREFIX}.${model}.${version}`;
}

/** The router's ShadowComparison records: in the same stream, one token deeper, so a filter on logs (`<model>.<version>`) never sees them. */
export function shadowComparisonSubject(model: string, shadowVersion: number): string {
  return `${PREDICTION_LOG_SUBJECT_PREFIX}.${model}.${shadowVersion}.shadow`;
}

export interface PredictionLogStreamOptions {
  /** How long logs are kept, ms. Default 24 h: drift windows look at minutes to hours, not weeks. */
  maxAgeMs?: number;
  /** Bytes kept at most, oldest dropped first. Default 256 MiB, so a busy laptop's disk is not filled. */
  maxBytes?: number;
}

const streamNotFound = 10059;
const streamNameInUse = 10058;

/** Creates the prediction-log and dead-letter streams when missing; existing ones are kept as configured. */
export async function ensurePredictionLogStreams(nc: NatsConnection, options: PredictionLogStreamOptions = {}): Promise<void> {
  const maxAgeMs = options.maxAgeMs ?? 24 * 60 * 60 * 1000;
  const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  await ensureStream(nc, {
    name: PREDICTION_LOG_STREAM,
    subjects: [`${PREDICTION_LOG_SUBJECT_PREFIX}.>`],
    max_age: nanos(maxAgeMs),
    max_bytes: maxBytes,
  });
  await ensureStream(nc, {
    name: PREDICTION_LOG_DEAD_LETTER_STREAM,
    subjects: [PREDICTION_LOG_DEAD_LETTER_SUBJECT],
    max_age: nanos(7 * 24 * 60 * 60 * 1000),
    max_bytes: 64 * 1024 * 1024,
  });
}

async function ensureStream(nc: NatsConnection, config: Pick<StreamConfig, "name" | "subjects" | "max_age" | "max_bytes">): Promise<void> {
  const what = `making sure JetStream stream ${config.name} exists`;
  try {
    const jsm = await jetstreamManager(nc);
    try {
      await jsm.streams.info(config.name);
      return;
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === streamNotFound)) throw err;
    }
    try {
      await jsm.streams.add({
        ...config,
        storage: StorageType.File,
        retention: RetentionPolicy.Limits,
        discard: DiscardPolicy.Old,
        duplicate_window: nanos(2 * 60 * 1000),
      });
    } catch (err) {
      if (err instanceof JetStreamApiError && err.code === streamNameInUse) return;
      throw err;
    }
  } catch (err) {
    throw translateNatsError(err, what);
  }
}
