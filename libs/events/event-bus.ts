import type { DescMessage, MessageShape } from "@bufbuild/protobuf";

export interface PublishOptions {
  /** CloudEvents `source`: who emits it, e.g. "tessera/registry". */
  source: string;
  /**
   * W3C trace context of the operation that caused the event, so one trace
   * follows it across NATS. Default: the active span's (publish starts a
   * producer span under it), so callers rarely set it.
   */
  traceparent?: string;
  tracestate?: string;
  /**
   * CloudEvents `id`. Default a fresh UUID. A publish retried after a crash
   * or an outage passes the first attempt's id, so readers see one event
   * (and the JetStream stream stores it once, within its duplicate window).
   */
  id?: string;
}

/** One event as a subscriber receives it. */
export interface BusEvent<M> {
  subject: string;
  /** CloudEvents `type`: the protobuf message's full name, e.g. "tessera.events.v1.AliasMoved". */
  type: string;
  /** CloudEvents `id`, a UUID; the same id means the same event (redelivered). */
  id: string;
  time: Date;
  source: string;
  traceparent?: string;
  tracestate?: string;
  message: M;
}

export type EventHandler<M> = (event: BusEvent<M>) => void | Promise<void>;

/** Stops a subscription; resolves once its handler will not be called again. */
export type Unsubscribe = () => Promise<void>;

/**
 * Publishes and receives protobuf events as CloudEvents in binary mode:
 * the payload is the message's bytes, the attributes are `ce-*` headers.
 * Two adapters pass the same contract suite (test/contract/event-bus.test.ts):
 * NATS and an in-process bus.
 *
 * Subjects are NATS subjects: dot-separated tokens; patterns may use `*`
 * (one token) and `>` (one or more trailing tokens). Invalid ones are
 * INVALID_ARGUMENT.
 */
export interface EventBus {
  /** Sends `message`; resolves once it is handed off (stored, for a durable NATS bus). */
  publish<Desc extends DescMessage>(
    subject: string,
    schema: Desc,
    message: MessageShape<Desc>,
    options: PublishOptions,
  ): Promise<void>;
  /**
   * Calls `handler` for every event on subjects matching `pattern` whose type
   * is one of `schemas`, one event at a time, in the order published. Events
   * of other types, or that do not decode, are logged and skipped; a handler
   * that throws is logged and the next event is delivered. Resolves once the
   * subscription is active: events published after that are delivered.
   */
  subscribe<Desc extends DescMessage>(
    pattern: string,
    schemas: Desc | readonly Desc[],
    handler: EventHandler<MessageShape<Desc>>,
  ): Promise<Unsubscribe>;
  /** Ends every subscription; the connection, if any, stays the caller's. */
  close(): Promise<void>;
}
