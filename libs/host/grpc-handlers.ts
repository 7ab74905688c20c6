import type { DescMethod, DescService, MessageShape, DescMessage } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import type { Metadata, StatusObject } from "@grpc/grpc-js";
import {
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
  type sendUnaryData,
} from "@grpc/grpc-js";
import { connectErrorToStatus, headersToMetadata, safeStatus, unsendableMetadata } from "./grpc-status.js";
import { grpcPath, MalformedMessage } from "./grpc-service-definition.js";
import type { CallObserver } from "./call-observer.js";
import { context as otelContext, ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { contextFromHeaders, endRpcSpan, startRpcSpan, tracingOn } from "../telemetry/index.js";
import { GrpcCallContext } from "./call-context.js";

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
  const calls = new LiveCalls(options.shutdownSignal);
  for (const method of service.methods) {
    const methodImpl = (impl as Record<string, AnyImpl | undefined>)[method.localName];
    handlers[method.name] = methodImpl
      ? handlerFor(service, method, methodImpl.bind(impl), options, calls)
      : unimplemented(method);
  }
  return handlers;
}

function handlerFor(service: DescService, method: DescMethod, impl: AnyImpl, options: GrpcHandlerOptions, calls: LiveCalls): UntypedHandleCall {
  const observe: Observe = (durationSeconds, code, error) =>
    options.observer.callEnded({ method: `${service.typeName}/${method.name}`, transport: "grpc", code, durationSeconds, error });
  // Two shapes on the wire: one response (unary, client streaming) or a
  // stream of them (server streaming, bidi); the input is one message or a stream.
  const respondOnce =
    (input: (call: AnyServerCall, context: CallContext) => unknown) => (call: AnyServerCall, callback: sendUnaryData<unknown>) => {
      const context = calls.open(service, method, call);
      answer(call, context, calls, observe, async (reply) => {
        const response = create(method.output, (await impl(input(call, context), context)) as MessageShape<DescMessage>);
        const trailer = context.setTrailer && sendableMetadata(context.setTrailer);
        sendHeader(call, context);
        reply(() => callback(null, response, trailer));
      }, (status) => callback(status));
    };

  const respondStream =
    (input: (call: AnyServerCall, context: CallContext) => unknown) =>
    (call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>) => {
      const context = calls.open(service, method, call);
      answer(call, context, calls, observe, async (reply) => {
        await writeAll(call, method, impl(input(call, context), context) as AsyncIterable<unknown>, context);
        const trailer = context.setTrailer && sendableMetadata(context.setTrailer);
        sendHeader(call, context);
        reply(() => call.end(trailer));
      }, (status) => call.emit("error", status));
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

type CallContext = GrpcCallContext;

/**
 * The calls in progress on one service's handlers, so a server shutdown
 * aborts them all from one listener instead of one listener per call.
 */
class LiveCalls {
  private readonly live = new Set<GrpcCallContext>();

  constructor(private readonly shutdownSignal: AbortSignal) {
    shutdownSignal.addEventListener("abort", () => {
      for (const context of this.live) context.abort(shutdownSignal.reason);
    }, { once: true });
  }

  open(service: DescService, method: DescMethod, call: AnyServerCall): GrpcCallContext {
    const deadline = call.getDeadline();
    const context = new GrpcCallContext(service, method, grpcPath(method), call.metadata, deadline instanceof Date ? deadline.getTime() : deadline);
    // grpc-js emits "cancelled" when the stream closes, answered or not: once the call is over this costs nothing.
    (call as NodeJS.EventEmitter).on("cancelled", () => context.cancelled());
    if (this.shutdownSignal.aborted) context.abort(this.shutdownSignal.reason);
    else this.live.add(context);
    return context;
  }

  /** The call is answered: frees its timer and ends its signal. */
  close(context: GrpcCallContext): void {
    this.live.delete(context);
    context.end();
  }
}

/** Sends the handler's response headers, once, before the first message or the status. */
function sendHeader(call: { sendMetadata(metadata: Metadata): void }, context: CallContext): void {
  if (context.headerSent) return;
  context.headerSent = true;
  const headers = context.setHeader;
  if (!headers) return;
  let any = false;
  headers.forEach(() => (any = true));
  if (!any) return;
  call.sendMetadata(sendableMetadata(headers));
}

function sendableMetadata(headers: Headers): Metadata {
  try {
    return headersToMetadata(headers);
  } catch (reason) {
    throw unsendableMetadata(reason);
  }
}

type Observe = (durationSeconds: number, code: Code | 0, error?: unknown) => void;

/**
 * Runs a call's handler and answers the call exactly once, whatever throws:
 * `run` sends the success answer through `reply`; a failure is answered
 * through `fail` with the handler's headers and trailers and the error's
 * details (connect-node's shape). A client that cancelled gets CANCELLED,
 * however the handler noticed (an aborted signal, a closed input stream).
 */
function answer(
  call: AnyServerCall,
  context: CallContext,
  calls: LiveCalls,
  observe: Observe,
  run: (reply: (send: () => void) => void) => Promise<void>,
  fail: (status: Partial<StatusObject>) => void,
): void {
  const started = performance.now();
  let replied = false;
  const seconds = () => (performance.now() - started) / 1000;
  // The server span, a child of the caller's (traceparent in the metadata);
  // the handler runs inside it, so its own calls, events and logs join the
  // trace. With no tracer provider registered there is no span to make.
  const traced = tracingOn();
  const parent = traced ? contextFromHeaders(context.requestHeader, ROOT_CONTEXT) : ROOT_CONTEXT;
  const span = traced ? startRpcSpan({ system: "grpc", service: context.service.typeName, method: context.method.name, side: "server", parent }) : undefined;
  const ended = (code: Code | 0, error?: unknown) => {
    if (span) endRpcSpan(span, "server", code, error instanceof ConnectError ? error.rawMessage : undefined);
    observe(seconds(), code, error);
  };
  const reply = (send: () => void) => {
    replied = true;
    send();
  };
  (span ? otelContext.with(trace.setSpan(parent, span), () => run(reply)) : run(reply))
    .then(
      // A client that cancelled never saw the answer, even if the handler finished.
      () => (call.cancelled ? ended(Code.Canceled) : ended(0)),
      (reason: unknown) => {
        const error = call.cancelled ? new ConnectError("the client cancelled the call", Code.Canceled, undefined, undefined, reason) : ConnectError.from(reason);
        if (!replied) {
          replied = true;
          try {
            sendHeader(call, context);
          } catch {
            // Headers gRPC cannot carry: the status below still goes out.
          }
          const status = safeStatus(error, context.responseTrailer);
          fail(status);
          const code = (status.code ?? Code.Unknown) as Code;
          ended(code, code === error.code ? error : new ConnectError(status.details ?? "", code, undefined, undefined, error));
        } else {
          ended(error.code, error);
        }
      },
    )
    .catch((reason: unknown) => {
      // Only an observer can throw here; the call is answered already.
      process.emitWarning(`libs/host: observing a gRPC call failed: ${String(reason)}`);
    })
    // Clears the deadline timer, which would otherwise hold the process open.
    .finally(() => calls.close(context));
}

async function writeAll(
  call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
  method: DescMethod,
  responses: AsyncIterable<unknown>,
  context: CallContext,
): Promise<void> {
  for await (const response of responses) {
    if (context.signal.aborted) throw ConnectError.from(context.signal.reason);
    sendHeader(call, context);
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
  try {
    for await (const message of call.iterator({ destroyOnReturn: false })) {
      yield checked(message);
    }
  } catch (reason) {
    // A cancelled call's stream closes early ("premature close"): that is the client leaving, not our fault.
    if (call.cancelled) throw new ConnectError("the client cancelled the call", Code.Canceled, undefined, undefined, reason);
    throw reason;
  }
  // Node's http2 turns a client's RST_STREAM into the end of the input
  // first and closes the stream (grpc-js's "cancelled") once that end is
  // read, a turn of the event loop later: wait that out, so a handler never
  // takes a cancelled call's partial input for the whole of it.
  for (let turn = 0; turn < 2 && !call.cancelled; turn++) await new Promise((resolve) => setImmediate(resolve));
  if (call.cancelled) throw new ConnectError("the client cancelled the call", Code.Canceled);
  if (context.signal.aborted) throw ConnectError.from(context.signal.reason);
}
