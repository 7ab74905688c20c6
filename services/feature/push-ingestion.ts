import { AckPolicy, DeliverPolicy, DiscardPolicy, jetstream, jetstreamManager, JetStreamApiError, RetentionPolicy, StorageType, type ConsumerMessages, type JsMsg } from "@nats-io/jetstream";
import { nanos, type NatsConnection } from "@nats-io/transport-node";
import { Code, ConnectError } from "../../libs/errors/index.js";
import type { FeatureRow, FeatureView } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import type { Logger } from "../../libs/log/index.js";
import { translateNatsError } from "../../libs/nats/index.js";
import type { DefinitionCatalog } from "./definition-catalog.js";
import type { FeatureEvents } from "./feature-events.js";
import type { FeatureMetrics } from "./feature-metrics.js";
import type { FeatureWriter } from "./feature-writer.js";
import { parsePushMessage } from "./parse-push-message.js";

export interface PushIngestionOptions {
  nc: NatsConnection;
  catalog: DefinitionCatalog;
  writer: FeatureWriter;
  events: FeatureEvents;
  metrics: FeatureMetrics;
  logger: Logger;
  /** The JetStream stream capturing `<subjectPrefix>.>`; created when missing. */
  stream: string;
  subjectPrefix: string;
}

/** How long a message whose write failed for want of Redis waits before redelivery. */
const RETRY_DELAY_MS = 1000;
/** Messages handed to one write at most. */
const MAX_BATCH = 512;

/**
 * Streaming ingestion: one durable JetStream consumer per view with a push
 * source, so a restart resumes where it stopped. Messages are validated
 * against the view and written in batches (what arrives while a write is
 * in flight goes in the next). A message that is not a valid row goes to
 * tessera.feature.dead_letter.<view> with the reason, then is acked —
 * never silently dropped; one that failed because Redis is away is
 * redelivered.
 */
export class PushIngestion {
  private readonly running = new Map<string, { subject: string; messages: ConsumerMessages; done: Promise<void> }>();
  private closed = false;
  private stopListening: (() => void) | undefined;

  private constructor(private readonly options: PushIngestionOptions) {}

  static async start(options: PushIngestionOptions): Promise<PushIngestion> {
    const ingestion = new PushIngestion(options);
    await ingestion.ensureStream();
    ingestion.stopListening = options.catalog.onViewChange((view) => void ingestion.follow(view));
    for (const view of options.catalog.listViews()) await ingestion.follow(view);
    return ingestion;
  }

  /** Views being consumed (for tests and logs). */
  views(): string[] {
    return [...this.running.keys()];
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopListening?.();
    const all = [...this.running.values()];
    this.running.clear();
    await Promise.all(all.map(async (r) => {
      await r.messages.close();
      await r.done;
    }));
  }

  private async ensureStream(): Promise<void> {
    const { nc, stream, subjectPrefix } = this.options;
    try {
      const jsm = await jetstreamManager(nc);
      try {
        await jsm.streams.info(stream);
      } catch (error) {
        if (!(error instanceof JetStreamApiError && error.code === 10059)) throw error;
        await jsm.streams.add({
          name: stream,
          subjects: [`${subjectPrefix}.>`],
          storage: StorageType.File,
          retention: RetentionPolicy.Limits,
          discard: DiscardPolicy.Old,
          // A day of pushes: enough for the service to be down a while and catch up.
          max_age: nanos(24 * 60 * 60 * 1000),
          max_bytes: 1024 * 1024 * 1024,
        });
      }
    } catch (error) {
      throw translateNatsError(error, `making sure JetStream stream ${stream} exists for push sources`);
    }
  }

  private async follow(view: FeatureView): Promise<void> {
    if (this.closed) return;
    const subject = view.pushSource?.subject;
    const current = this.running.get(view.name);
    if (current && current.subject === subject) return;
    if (current) {
      this.running.delete(view.name);
      await current.messages.close();
    }
    if (!subject) return;
    const { nc, stream, logger } = this.options;
    const durable = `feature_${view.name}`;
    try {
      const jsm = await jetstreamManager(nc);
      const config = { durable_name: durable, filter_subject: subject, ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, max_ack_pending: 10_000 };
      try {
        await jsm.consumers.add(stream, config);
      } catch {
        await jsm.consumers.update(stream, durable, { filter_subject: subject, max_ack_pending: 10_000 });
      }
      const consumer = await jetstream(nc).consumers.get(stream, durable);
      const messages = await consumer.consume({ max_messages: MAX_BATCH });
      const done = this.run(view.name, messages);
      this.running.set(view.name, { subject, messages, done });
      logger.info("push source followed", { view: view.name, subject, durable });
    } catch (error) {
      logger.error("push source not followed", { view: view.name, subject, error });
    }
  }

  private async run(viewName: string, messages: ConsumerMessages): Promise<void> {
    let buffer: JsMsg[] = [];
    let flushing: Promise<void> | undefined;
    const flush = async () => {
      while (buffer.length > 0) {
        const batch = buffer;
        buffer = [];
        await this.handle(viewName, batch);
      }
      flushing = undefined;
    };
    for await (const message of messages) {
      buffer.push(message);
      flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(flush);
    }
    await flushing;
  }

  private async handle(viewName: string, batch: JsMsg[]): Promise<void> {
    const { catalog, writer, metrics } = this.options;
    const view = catalog.view(viewName)?.value;
    if (!view) {
      batch.forEach((m) => m.nak(RETRY_DELAY_MS));
      return;
    }
    const rows: { message: JsMsg; row: FeatureRow }[] = [];
    for (const message of batch) {
      try {
        rows.push({ message, row: parsePushMessage(view, message.data, message.headers?.get("content-type") || undefined) });
      } catch (error) {
        metrics.rowsRejected.inc({ view: viewName, source: "push" });
        await this.deadLetter(viewName, message, ConnectError.from(error).rawMessage);
      }
    }
    if (rows.length === 0) return;
    try {
      await writer.write(viewName, rows.map((r) => r.row), "push");
      this.acked(viewName, rows.map((r) => r.message));
    } catch (error) {
      if (!isInvalid(error)) return this.retry(viewName, rows.map((r) => r.message), error);
      // One bad row fails the batch: write them one by one to find it.
      for (const { message, row } of rows) {
        try {
          await writer.write(viewName, [row], "push");
          this.acked(viewName, [message]);
        } catch (rowError) {
          if (isInvalid(rowError)) await this.deadLetter(viewName, message, ConnectError.from(rowError).rawMessage);
          else this.retry(viewName, [message], rowError);
        }
      }
    }
  }

  private acked(viewName: string, messages: JsMsg[]): void {
    const last = messages[messages.length - 1];
    for (const message of messages) message.ack();
    if (last) this.options.metrics.ingestLag.set({ view: viewName }, Math.max(0, Date.now() - Number(last.info.timestampNanos) / 1e6) / 1000);
  }

  private retry(viewName: string, messages: JsMsg[], error: unknown): void {
    this.options.logger.warn("push write failed; messages will be redelivered", { view: viewName, count: messages.length, error });
    for (const message of messages) message.nak(RETRY_DELAY_MS);
  }

  private async deadLetter(viewName: string, message: JsMsg, reason: string): Promise<void> {
    try {
      await this.options.events.deadLetter({
        view: viewName,
        subject: message.subject,
        reason,
        payload: message.data,
        contentType: message.headers?.get("content-type") ?? "",
        streamSequence: BigInt(message.seq),
      });
      message.ack();
    } catch (error) {
      // Not stored as a dead letter: leave it to be redelivered rather than lose it.
      this.options.logger.error("dead letter not published; the message will be redelivered", { view: viewName, error });
      message.nak(RETRY_DELAY_MS);
    }
  }
}

function isInvalid(error: unknown): boolean {
  const code = ConnectError.from(error).code;
  return code === Code.InvalidArgument || code === Code.NotFound;
}
