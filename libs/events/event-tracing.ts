import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Attributes } from "@opentelemetry/api";
import { contextFromLookup, traceHeaders } from "../telemetry/index.js";
import type { BusEvent, PublishOptions } from "./event-bus.js";

const tracer = () => trace.getTracer("tessera");

/** The trace context an event carries: W3C traceparent and tracestate, as CloudEvents' distributed tracing extension names them. */
export type EventTraceContext = Pick<PublishOptions, "traceparent" | "tracestate">;

const attributes = (subject: string, operation: "send" | "process", type: string): Attributes => ({
  "messaging.system": "nats",
  "messaging.destination.name": subject,
  "messaging.operation.type": operation,
  "messaging.operation.name": operation === "send" ? "publish" : "process",
  "cloudevents.event_type": type,
});

/**
 * Runs `send` inside a producer span, a child of the active span (or of
 * the traceparent the publisher gave), and hands it the trace context to
 * put in the event's headers, so the consumer's span joins the same trace.
 */
export async function publishTraced(subject: string, type: string, options: PublishOptions, send: (trace: EventTraceContext) => Promise<void>): Promise<void> {
  const parent = options.traceparent
    ? contextFromLookup((name) => (name === "traceparent" ? options.traceparent : name === "tracestate" ? options.tracestate : undefined), ROOT_CONTEXT)
    : context.active();
  const span = tracer().startSpan(`publish ${subject}`, { kind: SpanKind.PRODUCER, attributes: attributes(subject, "send", type) }, parent);
  const injected = traceHeaders(trace.setSpan(parent, span));
  // Tracing off: pass on whatever context the publisher named.
  const carried: EventTraceContext = injected.traceparent ? { traceparent: injected.traceparent, tracestate: injected.tracestate } : { traceparent: options.traceparent, tracestate: options.tracestate };
  try {
    await send(carried);
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}

/** Runs a subscriber's handler inside a consumer span, a child of the span that published the event. */
export async function handleTraced<M>(event: BusEvent<M>, handler: (event: BusEvent<M>) => void | Promise<void>): Promise<void> {
  const parent = contextFromLookup((name) => (name === "traceparent" ? event.traceparent : name === "tracestate" ? event.tracestate : undefined), ROOT_CONTEXT);
  const span = tracer().startSpan(
    `process ${event.subject}`,
    { kind: SpanKind.CONSUMER, attributes: { ...attributes(event.subject, "process", event.type), "cloudevents.event_id": event.id, "messaging.message.id": event.id } },
    parent,
  );
  try {
    await context.with(trace.setSpan(parent, span), () => handler(event));
  } catch (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.message : String(error) });
    throw error;
  } finally {
    span.end();
  }
}
