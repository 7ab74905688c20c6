import { create, type DescMessage, type DescMethodStreaming, type DescMethodUnary, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { ConnectError, createClient, type Client, type Transport } from "@connectrpc/connect";
import type { StreamResponse, UnaryResponse } from "@connectrpc/connect";
import { Client as GrpcClient, credentials, type CallOptions, type ChannelOptions, type ClientDuplexStream, type Metadata, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { context as otelContext, trace, type Span } from "@opentelemetry/api";
import { endRpcSpan, injectIntoHeaders, startRpcSpan } from "../telemetry/index.js";
import { deserializer, grpcPath, serializer } from "./grpc-service-definition.js";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./message-limits.js";
import { MESH_TOKEN_HEADER } from "./mesh-token.js";
import { headersToMetadata, metadataToHeaders, serviceErrorToConnectError, type HeadersLike } from "./grpc-status.js";

export interface GrpcTransportOptions {
  /** host:port of the peer's gRPC port. */
  address: string;
  /**
   * Deadline for a call that sets none, in milliseconds. Every call inside
   * the mesh has one, so a stuck peer costs a bounded wait. Default 10 s.
   */
  defaultTimeoutMs?: number;
  /** Largest response message accepted, in bytes. Default DEFAULT_MAX_MESSAGE_BYTES (64 MiB). */
  maxReceiveMessageBytes?: number;
  /**
   * Largest request message sent, in bytes. Default DEFAULT_MAX_MESSAGE_BYTES,
   * what our servers accept: a bigger one fails here, before the network.
   */
  maxSendMessageBytes?: number;
  channelOptions?: ChannelOptions;
  /** Sent as x-tessera-mesh-token on every call: services started with TESSERA_MESH_TOKEN refuse writes without it. */
  meshToken?: string;
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
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": options.maxSendMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    "grpc.keepalive_time_ms": 30_000,
    ...options.channelOptions,
  });

  const callOptions = (timeoutMs: number | undefined): CallOptions => ({
    deadline: Date.now() + (timeoutMs ?? defaultTimeoutMs),
  });

  // A client span per call, a child of whatever span is active (the handler
  // that makes this call, say), its context sent as traceparent metadata.
  const clientSpan = (method: DescMethod) =>
    startRpcSpan({ system: "grpc", service: method.parent.typeName, method: method.name, side: "client", address: options.address, parent: otelContext.active() });
  const requestMetadata = (header: HeadersLike | undefined, span: Span): Metadata => {
    const headers = new Headers(header);
    injectIntoHeaders(headers, trace.setSpan(otelContext.active(), span));
    if (options.meshToken) headers.set(MESH_TOKEN_HEADER, options.meshToken);
    return headersToMetadata(headers);
  };

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
        const span = clientSpan(method);
        const call = channel.makeUnaryRequest<MessageShape<I>, MessageShape<O>>(
          grpcPath(method),
          serializer(method.input),
          deserializer(method.output) as (bytes: Buffer) => MessageShape<O>,
          create(method.input, input),
          requestMetadata(header, span),
          callOptions(timeoutMs),
          (error: ServiceError | null, message?: MessageShape<O>) => {
            signal?.removeEventListener("abort", onAbort);
            endRpcSpan(span, "client", error?.code ?? 0, error?.details);
            if (error || !message) return reject(serviceErrorToConnectError(error ?? {}, responseHeader));
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
      const span = clientSpan(method);
      const call: ClientDuplexStream<MessageShape<I>, MessageShape<O>> = channel.makeBidiStreamRequest(
        grpcPath(method),
        serializer(method.input),
        deserializer(method.output) as (bytes: Buffer) => MessageShape<O>,
        requestMetadata(header, span),
        callOptions(timeoutMs),
      );
      call.once("status", (status: StatusObject) => endRpcSpan(span, "client", status.code, status.details));
      const onAbort = () => call.cancel();
      if (signal?.aborted) call.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
      let responseHeader = new Headers();
      const responseTrailer = new Headers();
      // Settles when the call is over, however it ends: the writer below
      // stops waiting for `drain` then, which a finished call never emits.
      let callEnded = false;
      const ended = new Promise<void>((resolve) => {
        const end = () => {
          callEnded = true;
          resolve();
        };
        call.once("status", end);
        call.once("error", end);
        call.once("close", end);
      });
      // Headers arrive before the first message, or not at all (a
      // trailers-only answer): the caller's onHeader sees them either way.
      const headerArrived = new Promise<void>((resolve) => {
        call.once("metadata", (metadata: Metadata) => {
          responseHeader = metadataToHeaders(metadata);
          resolve();
        });
        void ended.then(resolve);
      });
      call.on("status", (status: { metadata: Metadata }) =>
        metadataToHeaders(status.metadata).forEach((value, key) => responseTrailer.append(key, value)),
      );
      // Surface stream errors through the iterator below, not as unhandled events.
      let streamError: ConnectError | undefined;
      call.on("error", (error: ServiceError) => (streamError = serviceErrorToConnectError(error, responseHeader)));

      void writeRequests(call, method, input, ended, () => callEnded).catch((error: unknown) => {
        call.cancel();
        streamError ??= ConnectError.from(error);
      });

      async function* messages(): AsyncGenerator<MessageShape<O>> {
        try {
          for await (const message of call.iterator({ destroyOnReturn: false })) yield message as MessageShape<O>;
        } catch (error) {
          throw streamError ?? serviceErrorToConnectError(error as ServiceError, responseHeader);
        } finally {
          signal?.removeEventListener("abort", onAbort);
        }
        if (streamError) throw streamError;
      }

      await headerArrived;
      return { stream: true, service: method.parent, method, header: responseHeader, trailer: responseTrailer, message: messages() };
    },
  };
}

/**
 * Writes the caller's messages, waiting for `drain` when grpc-js's buffer
 * is full, and stops as soon as the call is over: then the caller's input
 * is closed (its `return()`, so a generator's `finally` runs) instead of
 * left waiting for a drain that never comes.
 */
async function writeRequests<I extends DescMessage>(
  call: ClientDuplexStream<MessageShape<I>, unknown>,
  method: DescMethodStreaming<I, DescMessage>,
  input: AsyncIterable<MessageInitShape<I>>,
  ended: Promise<void>,
  isEnded: () => boolean,
): Promise<void> {
  const iterator = input[Symbol.asyncIterator]();
  const stop = () => void Promise.resolve(iterator.return?.()).catch(() => {});
  // Never race iterator.next() against `ended`: every race leaves a reaction
  // on `ended` that holds its message until the call ends, so a long upload
  // would keep every chunk it sent (200 MB held for a 200 MB model). One
  // reaction instead closes an input still waiting when the call ends, and
  // wakes a wait for `drain`, which a finished call never emits.
  let wake: (() => void) | undefined;
  void ended.then(() => {
    stop();
    wake?.();
  });
  for (;;) {
    const next = await iterator.next();
    if (next.done) break;
    if (isEnded()) return stop();
    if (!call.write(create(method.input, next.value))) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        call.once("drain", resolve);
      });
      // Woken by the call's end: the `drain` listener would stay behind.
      if (wake) call.off("drain", wake);
      wake = undefined;
      if (isEnded()) return stop();
    }
  }
  call.end();
}
