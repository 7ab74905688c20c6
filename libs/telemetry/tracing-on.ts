import { ProxyTracerProvider, trace } from "@opentelemetry/api";

// The delegate of a proxy nobody has set one on: the API's no-op provider.
const NO_OP = new ProxyTracerProvider().getDelegate();

/**
 * Whether a tracer provider is registered (startTelemetry turned tracing
 * on, or an embedding program registered its own SDK). When not, every span
 * would be a no-op: hot paths skip span and context work altogether.
 */
export function tracingOn(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegate() !== NO_OP;
}
