import { createInbox, MsgHdrsImpl, type Msg, type NatsConnection } from "@nats-io/transport-node";
import type { CloudEventEnvelope } from "../events/index.js";

const lineBreak = /[\r\n]/;

// What JetStream answers a publish with (its PubAck, or an API error).
interface PubAck {
  stream?: string;
  error?: { code?: number; description?: string };
}

interface Waiting {
  resolve(): void;
  reject(error: Error): void;
  subject: string;
  sentAt: number;
}

/**
 * JetStream publishes that share one reply subscription, as the Go client's
 * PublishAsync does: each message goes out as a plain publish with a reply
 * subject `<inbox>.<n>`, and the stream's ack (or error) on that subject
 * settles it. `js.publish` makes a request per message instead (a reply
 * mux entry, a timer and two error objects made up front for their stack
 * traces), which cost the replica more than encoding the log itself.
 *
 * Same guarantees: a publish resolves only once the stream stored the
 * message (deduplicated by Nats-Msg-Id), and rejects on an error ack, on
 * no stream for the subject, when no ack came within `ackTimeoutMs`, or
 * when the connection closed.
 */
export class JetStreamAsyncPublisher {
  private readonly inbox: string;
  private readonly waiting = new Map<string, Waiting>();
  private next = 0;
  private sweeper: NodeJS.Timeout | undefined;
  private closedError: Error | undefined;

  constructor(
    private readonly nc: NatsConnection,
    private readonly ackTimeoutMs = 5_000,
  ) {
    // The connection's own inbox prefix, as its requests use (permissions may allow no other).
    this.inbox = createInbox((nc as { options?: { inboxPrefix?: string } }).options?.inboxPrefix);
    try {
      nc.subscribe(`${this.inbox}.*`, { callback: (error, msg) => (error ? this.failAll(error) : this.settle(msg)) });
    } catch (error) {
      // A closed connection: every publish fails (and is counted) instead of the replica failing to start.
      this.closedError = error instanceof Error ? error : new Error(String(error));
    }
    void nc.closed().then((error) => this.failAll(error ?? new Error("the NATS connection closed before JetStream acknowledged the publish")));
  }

  publish(subject: string, envelope: CloudEventEnvelope): Promise<void> {
    if (this.closedError) return Promise.reject(this.closedError);
    // From a record, as is: `headers().set` canonicalizes and searches every key per call, a tenth
    // of a log's cost. Our names are constants; values are checked here for what set would refuse.
    const record: Record<string, string[]> = {};
    for (const name in envelope.headers) {
      const value = envelope.headers[name]!;
      if (lineBreak.test(value)) return Promise.reject(new Error(`header ${name} holds a line break, which NATS headers cannot carry`));
      record[name] = [value];
    }
    const id = envelope.headers["ce-id"];
    if (id) record["Nats-Msg-Id"] = [id];
    const h = MsgHdrsImpl.fromRecord(record);
    const token = String(this.next++);
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(token, { resolve, reject, subject, sentAt: Date.now() });
      this.sweeper ??= setInterval(() => this.sweep(), Math.max(10, this.ackTimeoutMs / 4)).unref();
      try {
        this.nc.publish(subject, envelope.data, { headers: h, reply: `${this.inbox}.${token}` });
      } catch (error) {
        this.waiting.delete(token);
        reject(error instanceof Error ? error : new Error(String(error)));
      }
    });
  }

  private settle(msg: Msg): void {
    const token = msg.subject.slice(this.inbox.length + 1);
    const waiting = this.waiting.get(token);
    if (!waiting) return; // timed out already
    this.waiting.delete(token);
    if (msg.headers?.code === 503) return waiting.reject(new Error(`no JetStream stream stores ${waiting.subject} (no responders)`));
    let ack: PubAck;
    try {
      ack = msg.json<PubAck>();
    } catch (error) {
      return waiting.reject(new Error(`JetStream answered the publish with something that is not an ack: ${String(error)}`));
    }
    if (ack.error) return waiting.reject(new Error(`JetStream refused the publish: ${ack.error.description ?? "no description"} (${ack.error.code ?? "no code"})`));
    if (!ack.stream) return waiting.reject(new Error("JetStream answered the publish with an ack naming no stream"));
    waiting.resolve();
  }

  // Map order is insertion order: the oldest waits come first.
  private sweep(): void {
    const expired = Date.now() - this.ackTimeoutMs;
    for (const [token, waiting] of this.waiting) {
      if (waiting.sentAt > expired) break;
      this.waiting.delete(token);
      waiting.reject(new Error(`JetStream did not acknowledge the publish on ${waiting.subject} within ${this.ackTimeoutMs} ms`));
    }
    if (this.waiting.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private failAll(error: Error): void {
    this.closedError ??= error;
    for (const waiting of this.waiting.values()) waiting.reject(error);
    this.waiting.clear();
    clearInterval(this.sweeper);
    this.sweeper = undefined;
  }
}
