import { DiscardPolicy, JetStreamApiError, jetstreamManager, RetentionPolicy, StorageType, type StreamConfig } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { DEFAULT_MESH, meshNames } from "../mesh-names/index.js";
import { translateNatsError } from "../nats/index.js";

/** The JetStream stream that keeps prediction logs (in the default mesh; see predictionLogNames). */
export const PREDICTION_LOG_STREAM = "TESSERA_PREDICTIONS";
/**
 * Subjects are `tessera-predictions.<model>.<version>`: outside `tessera.>`
 * on purpose, so the week-long TESSERA_EVENTS stream does not also keep them
 * (a day of logs is plenty, and two streams may not capture the same subject).
 */
export const PREDICTION_LOG_SUBJECT_PREFIX = "tessera-predictions";
/** Where monitoring puts logs it cannot read, with the reason in a header. */
export const PREDICTION_LOG_DEAD_LETTER_STREAM = "TESSERA_PREDICTIONS_DEAD";
export const PREDICTION_LOG_DEAD_LETTER_SUBJECT = "tessera-predictions-dead";
export const DEAD_LETTER_REASON_HEADER = "tessera-dead-letter-reason";

/** The logical subject of a version's logs (what the publisher hands its transport). */
export function predictionLogSubject(model: string, version: number): string {
  return `${PREDICTION_LOG_SUBJECT_PREFIX}.${model}.${version}`;
}

/** The router's ShadowComparison records: in the same stream, one token deeper, so a filter on logs (`<model>.<version>`) never sees them. */
export function shadowComparisonSubject(model: string, shadowVersion: number): string {
  return `${PREDICTION_LOG_SUBJECT_PREFIX}.${model}.${shadowVersion}.shadow`;
}

/** The wire names of one mesh's prediction logs: two meshes on one NATS share none of them. */
export interface PredictionLogNames {
  /** `<MESH>_PREDICTIONS`. */
  readonly stream: string;
  /** `<mesh>-predictions.>`, what the stream captures. */
  readonly subjects: string;
  /** `<mesh>-predictions.<model>.<version>`. */
  subject(model: string, version: number): string;
  /** `<MESH>_PREDICTIONS_DEAD`. */
  readonly deadLetterStream: string;
  /** `<mesh>-predictions-dead`. */
  readonly deadLetterSubject: string;
}

/** The prediction-log names in `mesh` (TESSERA_MESH; default "tessera", today's names). */
export function predictionLogNames(mesh: string = DEFAULT_MESH): PredictionLogNames {
  const names = meshNames(mesh);
  return {
    stream: names.stream(PREDICTION_LOG_STREAM),
    subjects: names.subject(`${PREDICTION_LOG_SUBJECT_PREFIX}.>`),
    subject: (model, version) => names.subject(predictionLogSubject(model, version)),
    deadLetterStream: names.stream(PREDICTION_LOG_DEAD_LETTER_STREAM),
    deadLetterSubject: names.subject(PREDICTION_LOG_DEAD_LETTER_SUBJECT),
  };
}

export interface PredictionLogStreamOptions {
  /** The mesh (TESSERA_MESH) whose streams these are. Default "tessera". */
  mesh?: string;
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
  const names = predictionLogNames(options.mesh);
  await ensureStream(nc, {
    name: names.stream,
    subjects: [names.subjects],
    max_age: nanos(maxAgeMs),
    max_bytes: maxBytes,
  });
  await ensureStream(nc, {
    name: names.deadLetterStream,
    subjects: [names.deadLetterSubject],
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
