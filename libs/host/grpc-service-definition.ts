import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { fromBinary, toBinary, type DescMessage, type DescMethod, type DescService, type MessageShape } from "@bufbuild/protobuf";

/** The HTTP/2 path gRPC uses for a method: /package.Service/Method. */
export function grpcPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * A grpc-js service definition for a protobuf-es service descriptor, with
 * protobuf-es binary serializers, so one descriptor drives both our server
 * and our clients.
 */
export function toGrpcServiceDefinition(service: DescService): ServiceDefinition {
  return Object.fromEntries(service.methods.map((method) => [method.name, toGrpcMethodDefinition(method)]));
}

export function toGrpcMethodDefinition(method: DescMethod): MethodDefinition<unknown, unknown> {
  const streamsRequests = method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
  const streamsResponses = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
  return {
    path: grpcPath(method),
    requestStream: streamsRequests,
    responseStream: streamsResponses,
    requestSerialize: serializer(method.input),
    requestDeserialize: lenientDeserializer(method.input),
    responseSerialize: serializer(method.output),
    responseDeserialize: deserializer(method.output),
    originalName: method.localName,
  };
}

export function serializer(schema: DescMessage) {
  return (message: unknown): Buffer => {
    const bytes = toBinary(schema, message as MessageShape<DescMessage>);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

export function deserializer(schema: DescMessage) {
  return (bytes: Buffer): unknown => fromBinary(schema, bytes);
}

/** A request that could not be decoded; the handler answers INVALID_ARGUMENT. */
export class MalformedMessage {
  constructor(readonly cause: unknown) {}
}

// grpc-js answers INTERNAL when a request deserializer throws, but a
// malformed request is the caller's fault: hand the handler a marker instead
// so it can answer INVALID_ARGUMENT.
function lenientDeserializer(schema: DescMessage) {
  return (bytes: Buffer): unknown => {
    try {
      return fromBinary(schema, bytes);
    } catch (error) {
      return new MalformedMessage(error);
    }
  };
}
