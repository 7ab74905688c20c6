import { context, propagation, type Context, type TextMapGetter, type TextMapSetter } from "@opentelemetry/api";

// W3C trace context (traceparent, tracestate) through the header shapes we
// carry: fetch Headers (Connect, and gRPC metadata once converted) and plain
// records (NATS message headers, CloudEvents).

const headersGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

const headersSetter: TextMapSetter<Headers> = {
  set: (carrier, key, value) => carrier.set(key, value),
};

/** The context a caller sent in `headers`, as the parent of this side's span. */
export function contextFromHeaders(headers: Headers, base: Context = context.active()): Context {
  return propagation.extract(base, headers, headersGetter);
}

/** Writes `ctx`'s trace context into `headers` (nothing when tracing is off). */
export function injectIntoHeaders(headers: Headers, ctx: Context = context.active()): void {
  propagation.inject(ctx, headers, headersSetter);
}

/** The trace context headers for `ctx`, as a record: {traceparent, tracestate} when a span is active. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** The context carried by a record of headers looked up by lowercase name. */
export function contextFromLookup(header: (name: string) => string | undefined, base: Context = context.active()): Context {
  return propagation.extract(base, header, {
    keys: () => ["traceparent", "tracestate"],
    get: (lookup, key) => lookup(key),
  });
}
