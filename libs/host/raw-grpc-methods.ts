import type { MethodDefinition, sendUnaryData, ServerUnaryCall, UntypedServiceImplementation } from "@grpc/grpc-js";

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
    handlers[name] = handler as UntypedServiceImplementation[string];
  }
}
