import { create, type DescMessage, type DescMethodStreaming, type DescMethodUnary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import type { StreamResponse, UnaryResponse } from "@connectrpc/connect";
import { Client as GrpcClient, credentials, type CallOptions, type ChannelOptions, type ClientDuplexStream, type Metadata, type ServiceError } from "@grpc/grpc-js";
import type { DescService } from "@bufbuild/protobuf";
import { deserializer, grpcPath, serializer } from "./grpc-service-definition.js";
import { headersToMetadata, metadataToHeaders, serviceErrorToConnectError, type HeadersLike } from "./grpc-status.js";

export interface GrpcTransportOptions {
  /** host:port of the peer's gRPC port. */
  address: string;
  /**
   * Deadline for a call that sets none, in milliseconds. Every call inside
   * the mesh has one, so a stuck peer costs a bounded wait. Default 10 s.
   */
  defaultTimeoutMs?: number;
  /** Largest message accepted, in bytes. Default 64 MiB (artifacts come in chunks). */
  maxReceiveMessageBytes?: number;
  channelOptions?: ChannelOptions;
}

/** A Connect client whose calls go over one long-lived grpc-js channel. */
export interface MeshClient<S extends DescService> {
  client: Client<S>;
  close(): void;
}

export function createMeshClient<S extends DescService>(service: S, options: GrpcTransportOptions): MeshClient<S> {
  const transport = createGrpcJsTransport(options);
  return { client: createClient(service, transport), close: () => transport.close() };
}

/**
 * A Connect Transport over @grpc/grpc-js: typed Connect clients for calls
 * inside the mesh, on the fast gRPC port (see DESIGN.md, Wire).
 */
export function createGrpcJsTransport(options: GrpcTransportOptions): Transport & { close(): void } {
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 10_000;
  const channel = new GrpcClient(options.address, credentials.createInsecure(), {
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? 64 * 1024 * 1024,
    "grpc.max_send_message_length": options.maxReceiveMessageBytes ?? 64 * 1024 * 1024,
    "grpc.keepalive_time_ms": 30_000,
    ...options.channelOptions,
  });

  const callOptions = (timeoutMs: number | undefined): CallOptions => ({
    deadline: Date.now() + (timeoutMs ?? defaultTimeoutMs),
  });

  return {
    close: () => channel.close(),

    unary<I extends DescMessage, O extends DescMessage>(
      method: DescMethodUnary<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersLike | undefined,
      input: MessageInitShape<I>,
    ): Promise<UnaryResponse<I, O>> {
      return new Promise((resolve, reject) => {
        let responseHeader = new Headers();
        const call = channel.makeUnaryRequest<MessageShape<I>, MessageShape<O>>(
          grpcPath(method),
          serializer(method.input),
          deserializer(method.output) as (bytes: Buffer) => MessageShape<O>,
          create(method.input, input),
          headersToMetadata(header),
          callOptions(timeoutMs),
          (error: ServiceError | null, message?: MessageShape<O>) => {
            signal?.removeEventListener("abort", onAbort);
            if (error || !message) return reject(serviceErrorToConnectError(error ?? {}));
            resolve({ stream: false, service: method.parent, method, header: responseHeader, trailer: trailer(), message });
          },
        );
        let trailerMetadata: Metadata | undefined;
        const trailer = () => (trailerMetadata ? metadataToHeaders(trailerMetadata) : new Headers());
        call.on("metadata", (metadata: Metadata) => (responseHeader = metadataToHeaders(metadata)));
        call.on("status", (status: { metadata: Metadata }) => (trailerMetadata = status.metadata));
        const onAbort = () => call.cancel();
        if (signal?.aborted) call.cancel();
        signal?.addEventListener("abort", onAbort, { once: true });
      });
    },

    async stream<I extends DescMessage, O extends DescMessage>(
      method: DescMethodStreaming<I, O>,
      signal: AbortSignal | undefined,
      timeoutMs: number | undefined,
      header: HeadersLike | undefined,
      input: AsyncIterable<MessageInitShape<I>>,
    ): Promise<StreamResponse<I, O>> {
      // One duplex call covers all three streaming kinds: grpc-js frames
      // them the same way on the wire.
      const call: ClientDuplexStream<MessageShape<I>, MessageShape<O>> = channel.makeBidiStreamRequest(
        grpcPath(method),
        serializer(method.input),
        deserializer(method.output) as (bytes: Buffer) => MessageShape<O>,
        headersToMetadata(header),
        callOptions(timeoutMs),
      );
      const onAbort = () => call.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
      let responseHeader = new Headers();
      const responseTrailer = new Headers();
      call.on("metadata", (metadata: Metadata) => (responseHeader = metadataToHeaders(metadata)));
      call.on("status", (status: { metadata: Metadata }) =>
        metadataToHeaders(status.metadata).forEach((value, key) => responseTrailer.append(key, value)),
      );
      // Surface stream errors through the iterator below, not as unhandled events.
      let streamError: ConnectError | undefined;
      call.on("error", (error: ServiceError) => (streamError = serviceErrorToConnectError(error)));

      void (async () => {
        try {
          for await (const message of input) {
            if (!call.write(create(method.input, message))) await new Promise((resolve) => call.once("drain", resolve));
          }
          call.end();
        } catch (error) {
          call.cancel();
          streamError ??= ConnectError.from(error);
        }
      })();

      async function* messages(): AsyncGenerator<MessageShape<O>> {
        try {
          for await (const message of call.iterator({ destroyOnReturn: false })) yield message as MessageShape<O>;
        } catch (error) {
          throw streamError ?? serviceErrorToConnectError(error as ServiceError);
        } finally {
          signal?.removeEventListener("abort", onAbort);
        }
        if (streamError) throw streamError;
      }

      return { stream: true, service: method.parent, method, header: responseHeader, trailer: responseTrailer, message: messages() };
    },
  };
}
