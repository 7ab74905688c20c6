import { status, type MethodDefinition, type sendUnaryData, type ServerUnaryCall, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { context as otelContext, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { contextFromLookup, endRpcSpan, startRpcSpan } from "../telemetry/index.js";

/**
 * A unary method served on the gRPC port as raw bytes: the request exactly
 * as it came off the wire, the response sent as given. For a proxy (the
 * router) that forwards messages without decoding and re-encoding them.
 * The HTTP port still serves the method through its typed ServiceImpl.
 */
export type RawUnaryHandler = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => void;

const identity = (bytes: Buffer): Buffer => bytes;

/** Replaces the named methods' serializers and handlers with raw-bytes ones. @internal */
export function applyRawGrpcMethods(
  definition: Record<string, MethodDefinition<unknown, unknown>>,
  handlers: UntypedServiceImplementation,
  raw: Readonly<Record<string, RawUnaryHandler>>,
): void {
  for (const [name, handler] of Object.entries(raw)) {
    const method = definition[name] as MethodDefinition<unknown, unknown> | undefined;
    if (!method || method.requestStream || method.responseStream) throw new Error(`rawGrpc: ${name} is not a unary method of this service`);
    definition[name] = { ...method, requestDeserialize: identity, responseSerialize: identity, requestSerialize: identity, responseDeserialize: identity } as MethodDefinition<unknown, unknown>;
    handlers[name] = traced(method.path, handler) as UntypedServiceImplementation[string];
  }
}

/**
 * The raw handler inside a server span, as typed handlers get one
 * (grpc-handlers.ts): a child of the caller's traceparent, ended with the
 * status the handler answers. The handler's own calls join the trace.
 */
function traced(path: string, handler: RawUnaryHandler): RawUnaryHandler {
  const slash = path.lastIndexOf("/");
  const service = path.slice(1, slash);
  const methodName = path.slice(slash + 1);
  return (call, callback) => {
    const parent = contextFromLookup((key) => {
      const value = call.metadata.get(key)[0];
      return typeof value === "string" ? value : undefined;
    }, ROOT_CONTEXT);
    const span = startRpcSpan({ system: "grpc", service, method: methodName, side: "server", parent });
    const answer: sendUnaryData<Buffer> = (error, value, trailer, flags) => {
      endRpcSpan(span, "server", error ? (error.code ?? status.UNKNOWN) : 0, error?.details);
      callback(error, value, trailer, flags);
    };
    otelContext.with(trace.setSpan(parent, span), () => handler(call, answer));
  };
}
