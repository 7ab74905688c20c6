import { Code } from "@connectrpc/connect";
import { SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from "@opentelemetry/api";

/** `rpc.system` of a call: the gRPC port and the mesh client speak grpc, the HTTP port Connect (and gRPC-Web). */
export type RpcSystem = "grpc" | "connect_rpc";

const tracer = () => trace.getTracer("tessera");

export interface RpcSpanOptions {
  system: RpcSystem;
  /** Full service name, "tessera.registry.v1.RegistryService". */
  service: string;
  method: string;
  side: "client" | "server";
  /** Where the client calls (host:port), for server.address / server.port. */
  address?: string;
  parent: Context;
}

/**
 * A span for one RPC, named and attributed as the OpenTelemetry RPC
 * semantic conventions say: "<service>/<method>", rpc.system, rpc.service,
 * rpc.method, and for a client the peer's server.address/server.port.
 */
export function startRpcSpan(options: RpcSpanOptions): Span {
  const attributes: Attributes = { "rpc.system": options.system, "rpc.service": options.service, "rpc.method": options.method };
  if (options.address) {
    const colon = options.address.lastIndexOf(":");
    attributes["server.address"] = colon === -1 ? options.address : options.address.slice(0, colon).replace(/^\[|\]$/g, "");
    const port = colon === -1 ? NaN : Number(options.address.slice(colon + 1));
    if (Number.isInteger(port)) attributes["server.port"] = port;
  }
  return tracer().startSpan(
    `${options.service}/${options.method}`,
    { kind: options.side === "client" ? SpanKind.CLIENT : SpanKind.SERVER, attributes },
    options.parent,
  );
}

// The codes a server span marks as errors (semantic conventions: the
// others are the caller's problem, not the server's).
const serverErrors = new Set<number>([Code.Unknown, Code.DeadlineExceeded, Code.Unimplemented, Code.Internal, Code.Unavailable, Code.DataLoss]);

/** Ends an RPC span with its status code (0 for OK): rpc.grpc.status_code, and the span status. */
export function endRpcSpan(span: Span, side: "client" | "server", code: number, message?: string): void {
  if (!span.isRecording()) return span.end();
  span.setAttribute("rpc.grpc.status_code", code);
  if (code !== 0 && (side === "client" || serverErrors.has(code))) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: `${Code[code] ?? code}${message ? `: ${message}` : ""}` });
  }
  span.end();
}
