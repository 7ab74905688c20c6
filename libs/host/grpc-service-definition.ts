import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";
import { fromBinary, toBinary, type DescMessage, type DescMethod, type DescService, type MessageShape } from "@bufbuild/protobuf";
import type { TypedFieldPlan, TypedFieldsOptions } from "./typed-fields.js";
import { typedDecoder } from "./typed-fields-decode.js";
import { typedEncoder } from "./typed-fields-encode.js";

export interface GrpcDefinitionOptions extends TypedFieldsOptions {
  /**
   * Repeated numeric fields the server side decodes into typed arrays and
   * encodes from them (typed-fields.ts): a service's tensor values. Only
   * the server's request decoder and response encoder use it; a client
   * built from this definition encodes and decodes as protobuf-es does.
   */
  readonly typedFields?: TypedFieldPlan;
}

/** The HTTP/2 path gRPC uses for a method: /package.Service/Method. */
export function grpcPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * A grpc-js service definition for a protobuf-es service descriptor, with
 * protobuf-es binary serializers, so one descriptor drives both our server
 * and our clients.
 */
export function toGrpcServiceDefinition(service: DescService, options: GrpcDefinitionOptions = {}): ServiceDefinition {
  return Object.fromEntries(service.methods.map((method) => [method.name, toGrpcMethodDefinition(method, options)]));
}

export function toGrpcMethodDefinition(method: DescMethod, options: GrpcDefinitionOptions = {}): MethodDefinition<unknown, unknown> {
  const streamsRequests = method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
  const streamsResponses = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
  return {
    path: grpcPath(method),
    requestStream: streamsRequests,
    responseStream: streamsResponses,
    requestSerialize: serializer(method.input),
    requestDeserialize: lenientDeserializer(method.input, options),
    responseSerialize: serializer(method.output, options),
    responseDeserialize: deserializer(method.output),
    originalName: method.localName,
  };
}

export function serializer(schema: DescMessage, options: GrpcDefinitionOptions = {}) {
  const encode = options.typedFields ? typedEncoder(schema, options.typedFields, options) : (message: MessageShape<DescMessage>) => toBinary(schema, message);
  return (message: unknown): Buffer => {
    const bytes = encode(message as MessageShape<DescMessage>);
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
export function lenientDeserializer(schema: DescMessage, options: GrpcDefinitionOptions = {}) {
  const decode = options.typedFields ? typedDecoder(schema, options.typedFields, options) : (bytes: Uint8Array) => fromBinary(schema, bytes);
  return (bytes: Buffer): unknown => {
    try {
      return decode(bytes);
    } catch (error) {
      return new MalformedMessage(error);
    }
  };
}
