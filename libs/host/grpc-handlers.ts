import type { DescMethod, DescService, MessageShape, DescMessage } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createHandlerContext, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type {
  Metadata} from "@grpc/grpc-js";
import {
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { connectErrorToStatus, headersToMetadata, metadataToHeaders } from "./grpc-status.js";
import { grpcPath, MalformedMessage } from "./grpc-service-definition.js";
import type { CallObserver } from "./call-observer.js";

type AnyServerCall =
  | ServerUnaryCall<unknown, unknown>
  | ServerReadableStream<unknown, unknown>
  | ServerWritableStream<unknown, unknown>
  | ServerDuplexStream<unknown, unknown>;

/** Loosely typed view of a ServiceImpl method; the descriptor says which shape it has. */
type AnyImpl = (input: unknown, context: HandlerContext) => unknown;

export interface GrpcHandlerOptions {
  /** Aborted when the server shuts down, so long calls can stop early. */
  shutdownSignal: AbortSignal;
  observer: CallObserver;
}

/**
 * Turns a Connect-shaped ServiceImpl into grpc-js handlers: the same
 * handler code serves the gRPC port and the Connect/HTTP port.
 */
export function toGrpcHandlers<S extends DescService>(
  service: S,
  impl: Partial<ServiceImpl<S>>,
  options: GrpcHandlerOptions,
): UntypedServiceImplementation {
  const handlers: UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const methodImpl = (impl as Record<string, AnyImpl | undefined>)[method.localName];
    handlers[method.name] = methodImpl
      ? handlerFor(service, method, methodImpl.bind(impl), options)
      : unimplemented(method);
  }
  return handlers;
}

function handlerFor(service: DescService, method: DescMethod, impl: AnyImpl, options: GrpcHandlerOptions): UntypedHandleCall {
  const observe = (started: number, code: Code | 0, error?: unknown) =>
    options.observer.callEnded({
      method: `${service.typeName}/${method.name}`,
      transport: "grpc",
      code,
      durationSeconds: (performance.now() - started) / 1000,
      error,
    });
  // Two shapes on the wire: one response (unary, client streaming) or a
  // stream of them (server streaming, bidi); the input is one message or a stream.
  const respondOnce =
    (input: (call: AnyServerCall, context: CallContext) => unknown) => (call: AnyServerCall, callback: sendUnaryData<unknown>) => {
      const started = performance.now();
      const context = contextFor(service, method, call, options);
      void (async () => {
        try {
          const response = create(method.output, (await impl(input(call, context), context)) as MessageShape<DescMessage>);
          sendHeader(call, context);
          callback(null, response, headersToMetadata(context.responseTrailer));
          observe(started, 0);
        } catch (reason) {
          const error = ConnectError.from(reason);
          callback(connectErrorToStatus(error));
          observe(started, error.code, error);
        } finally {
          // Clears the deadline timer, which would otherwise hold the process open.
          context.abort();
        }
      })();
    };
  const respondStream =
    (input: (call: AnyServerCall, context: CallContext) => unknown) =>
    (call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>) => {
      const started = performance.now();
      const context = contextFor(service, method, call, options);
      void (async () => {
        try {
          await writeAll(call, method, impl(input(call, context), context) as AsyncIterable<unknown>, context);
          call.end(headersToMetadata(context.responseTrailer));
          observe(started, 0);
        } catch (reason) {
          const error = ConnectError.from(reason);
          call.emit("error", connectErrorToStatus(error));
          observe(started, error.code, error);
        } finally {
          context.abort();
        }
      })();
    };
  const oneMessage = (call: AnyServerCall) => checked((call as ServerUnaryCall<unknown, unknown>).request);
  const messageStream = (call: AnyServerCall, context: CallContext) => readAll(call as ServerReadableStream<unknown, unknown>, context);
  switch (method.methodKind) {
    case "unary":
      return respondOnce(oneMessage) as UntypedHandleCall;
    case "server_streaming":
      return respondStream(oneMessage) as UntypedHandleCall;
    case "client_streaming":
      return respondOnce(messageStream) as UntypedHandleCall;
    case "bidi_streaming":
      return respondStream(messageStream) as UntypedHandleCall;
  }
}

function unimplemented(method: DescMethod): UntypedHandleCall {
  const status = connectErrorToStatus(new ConnectError(`${grpcPath(method)} is not implemented`, Code.Unimplemented));
  return ((call: AnyServerCall, callback?: sendUnaryData<unknown>) => {
    if (callback) callback(status);
    else (call as ServerWritableStream<unknown, unknown>).emit("error", status);
  }) as UntypedHandleCall;
}

function checked(message: unknown): unknown {
  if (message instanceof MalformedMessage) {
    throw new ConnectError(`request is not a valid protobuf message: ${String((message.cause as Error)?.message ?? message.cause)}`, Code.InvalidArgument);
  }
  return message;
}

/** A handler context the adapter ends when the call is over, freeing its deadline timer. */
type CallContext = HandlerContext & { abort(reason?: unknown): void };

function contextFor(service: DescService, method: DescMethod, call: AnyServerCall, options: GrpcHandlerOptions): CallContext {
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : deadline;
  const requestAbort = new AbortController();
  (call as NodeJS.EventEmitter).on("cancelled", () =>
    requestAbort.abort(new ConnectError("the client cancelled the call", Code.Canceled)),
  );
  return createHandlerContext({
    service,
    method,
    protocolName: "grpc",
    requestMethod: "POST",
    url: grpcPath(method),
    timeoutMs: Number.isFinite(deadlineMs) ? Math.max(0, deadlineMs - Date.now()) : undefined,
    shutdownSignal: options.shutdownSignal,
    requestSignal: requestAbort.signal,
    requestHeader: metadataToHeaders(call.metadata),
  });
}

function sendHeader(call: { sendMetadata(metadata: Metadata): void }, context: HandlerContext): void {
  let any = false;
  context.responseHeader.forEach(() => (any = true));
  if (any) call.sendMetadata(headersToMetadata(context.responseHeader));
}

async function writeAll(
  call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
  method: DescMethod,
  responses: AsyncIterable<unknown>,
  context: HandlerContext,
): Promise<void> {
  let headerSent = false;
  for await (const response of responses) {
    if (context.signal.aborted) throw ConnectError.from(context.signal.reason);
    if (!headerSent) {
      sendHeader(call, context);
      headerSent = true;
    }
    // Respect backpressure so a slow reader cannot make us buffer a whole
    // artifact in memory.
    if (!call.write(create(method.output, response as MessageShape<DescMessage>))) {
      await new Promise<void>((resolve, reject) => {
        const onDrain = () => {
          context.signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          call.off("drain", onDrain);
          reject(ConnectError.from(context.signal.reason));
        };
        call.once("drain", onDrain);
        context.signal.addEventListener("abort", onAbort, { once: true });
      });
    }
  }
}

/** The request stream as an async iterable that fails if the client cancels. */
async function* readAll(call: ServerReadableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>, context: HandlerContext): AsyncGenerator<unknown> {
  // destroyOnReturn: false, or finishing the read side would destroy the
  // whole duplex call before the responses are written.
  for await (const message of call.iterator({ destroyOnReturn: false })) {
    yield checked(message);
  }
  if (context.signal.aborted) throw ConnectError.from(context.signal.reason);
}
