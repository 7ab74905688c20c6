import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from "node:http";
import { context, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, type Span } from "@opentelemetry/api";
import { contextFromLookup, traceHeaders } from "./trace-headers.js";

// Spans for the plain-HTTP routes a service serves beside Connect (the OIP
// REST form), named and attributed as the HTTP semantic conventions say:
// "<METHOD> <route template>", http.request.method, http.route, url.path,
// http.response.status_code. Connect calls get RPC spans instead (rpc-spans.ts).

const tracer = () => trace.getTracer("tessera");

const first = (value: string | string[] | undefined) => (Array.isArray(value) ? value[0] : value);

/**
 * Runs `handle` inside a SERVER span for one HTTP request, a child of the
 * caller's traceparent; the span ends when the response is finished or the
 * connection closes, with its status code (5xx marks it an error). Whatever
 * `handle` calls, dispatches or logs joins the trace.
 */
export function traceHttpRequest<T>(request: IncomingMessage, response: ServerResponse, route: string, handle: () => Promise<T>): Promise<T> {
  const parent = contextFromLookup((name) => first(request.headers[name]), ROOT_CONTEXT);
  const method = request.method ?? "GET";
  const span = tracer().startSpan(
    `${method} ${route}`,
    { kind: SpanKind.SERVER, attributes: { "http.request.method": method, "http.route": route, "url.path": (request.url ?? "/").split("?")[0] ?? "/" } },
    parent,
  );
  if (span.isRecording()) response.once("close", () => endHttpSpan(span, response.headersSent ? response.statusCode : undefined, true));
  else span.end();
  return context.with(trace.setSpan(parent, span), handle);
}

/**
 * A CLIENT span for one HTTP request this process makes, a child of the
 * active span, and the headers that carry it (traceparent, tracestate):
 * merge them into the request so the server's span hangs under this one.
 */
export function startHttpClientSpan(method: string, address: string): { span: Span; headers: OutgoingHttpHeaders } {
  const colon = address.lastIndexOf(":");
  const port = Number(address.slice(colon + 1));
  const parent = context.active();
  const span = tracer().startSpan(
    method,
    {
      kind: SpanKind.CLIENT,
      attributes: { "http.request.method": method, "server.address": address.slice(0, colon).replace(/^\[|\]$/g, ""), ...(Number.isInteger(port) ? { "server.port": port } : {}) },
    },
    parent,
  );
  return { span, headers: span.isRecording() ? traceHeaders(trace.setSpan(parent, span)) : {} };
}

/** Ends an HTTP span with the response's status; undefined: no response (a failed connection). */
export function endHttpSpan(span: Span, statusCode: number | undefined, server = false): void {
  if (!span.isRecording()) return span.end();
  if (statusCode !== undefined) span.setAttribute("http.response.status_code", statusCode);
  // Server spans: a 4xx is the caller's problem. Clients: any failure is theirs to see.
  if (statusCode === undefined || statusCode >= 500 || (!server && statusCode >= 400)) {
    span.setStatus({ code: SpanStatusCode.ERROR, ...(statusCode === undefined ? { message: "no response" } : {}) });
  }
  span.end();
}
