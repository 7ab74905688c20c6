import { trace } from "@opentelemetry/api";
import { traceHeaders } from "../telemetry/index.js";

/** W3C trace context a prediction log carries in its message headers. */
export interface LogTraceContext {
  traceparent: string;
  tracestate?: string;
}

/**
 * The trace of the request being answered, taken when its log is offered:
 * the log is published later, in a batch, outside that request's context.
 * Undefined (and nearly free) when no span records, so tracing off costs
 * the hot path one lookup.
 */
export function activeTraceContext(): LogTraceContext | undefined {
  if (!trace.getActiveSpan()?.isRecording()) return undefined;
  const headers = traceHeaders();
  if (!headers.traceparent) return undefined;
  return headers.tracestate ? { traceparent: headers.traceparent, tracestate: headers.tracestate } : { traceparent: headers.traceparent };
}
