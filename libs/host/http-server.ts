import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor, ServiceImpl } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { context as otelContext, ROOT_CONTEXT, trace, type Context } from "@opentelemetry/api";
import { contextFromHeaders, endRpcSpan, startRpcSpan } from "../telemetry/index.js";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Registry } from "prom-client";
import type { CallObserver } from "./call-observer.js";
import type { RawUnaryHandler } from "./raw-grpc-methods.js";
import type { TypedFieldPlan } from "./typed-fields.js";
import { status } from "@grpc/grpc-js";
import { checkMeshTokenHttp, type MeshTokenPolicy } from "./mesh-token.js";

/** An extra HTTP route (the OIP REST form, say): answers and returns true, or returns false to pass. */
export type HttpRoute = (request: IncomingMessage, response: ServerResponse) => boolean | Promise<boolean>;

export interface ServiceRegistration<S extends DescService = DescService> {
  service: S;
  impl: Partial<ServiceImpl<S>>;
  /** Unary methods (by name) the gRPC port serves as raw bytes instead of through `impl`. */
  rawGrpc?: Readonly<Record<string, RawUnaryHandler>>;
  /** Fields the gRPC port decodes into typed arrays and encodes from them (see TypedFieldPlan); the HTTP port ignores it. */
  typedFields?: TypedFieldPlan;
}

/** Pairs a service with its handlers, checked against each other here and erased for the list. */
export function serve<S extends DescService>(
  service: S,
  impl: Partial<ServiceImpl<S>>,
  options: { rawGrpc?: Readonly<Record<string, RawUnaryHandler>>; typedFields?: TypedFieldPlan } = {},
): ServiceRegistration {
  return { service, impl, rawGrpc: options.rawGrpc, typedFields: options.typedFields } as unknown as ServiceRegistration;
}

export interface HttpServerOptions {
  services: readonly ServiceRegistration[];
  routes: readonly HttpRoute[];
  metrics: Registry;
  observer: CallObserver;
  isReady: () => boolean;
  /** Why the service is not ready, for /readyz. */
  notReadyReason?: () => string | undefined;
  shutdownSignal: AbortSignal;
  maxMessageBytes: number;
  /** See ServiceHostOptions.meshToken. */
  meshToken?: MeshTokenPolicy;
}

/**
 * The HTTP/1.1 port: Connect (JSON and binary) and gRPC-Web for web clients
 * and curl, plus /metrics, /healthz, /readyz and the service's own routes.
 */
export function createHttpServer(options: HttpServerOptions): http.Server {
  const connect = connectNodeAdapter({
    routes: (router: ConnectRouter) => {
      for (const { service, impl } of options.services) router.service(service, impl);
    },
    grpc: false,
    grpcWeb: true,
    connect: true,
    readMaxBytes: options.maxMessageBytes,
    // A misspelt field from curl should be an error, not silently ignored.
    jsonOptions: { ignoreUnknownFields: false },
    shutdownSignal: options.shutdownSignal,
    interceptors: [tracingInterceptor(), observingInterceptor(options.observer)],
  });

  return http.createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: String((error as Error)?.message ?? error) });
      else response.destroy();
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? "/").split("?")[0];
    if (request.method === "GET" && path === "/healthz") return sendJson(response, 200, { status: "ok" });
    if (request.method === "GET" && path === "/readyz") {
      const ready = options.isReady();
      const reason = ready ? undefined : options.notReadyReason?.();
      return sendJson(response, ready ? 200 : 503, { status: ready ? "ready" : "not ready", ...(reason ? { reason } : {}) });
    }
    if (request.method === "GET" && path === "/metrics") {
      const body = await options.metrics.metrics();
      response.writeHead(200, { "content-type": options.metrics.contentType });
      response.end(body);
      return;
    }
    const verdict = options.meshToken && checkMeshTokenHttp(options.meshToken, request);
    if (verdict && !verdict.ok) return sendJson(response, verdict.code === status.UNAUTHENTICATED ? 401 : 403, { error: verdict.message });
    for (const route of options.routes) {
      if (await route(request, response)) return;
    }
    connect(request, response);
  }
}

export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  response.end(text);
}

function observingInterceptor(observer: CallObserver): Interceptor {
  return (next) => async (request) => {
    const started = performance.now();
    const method = `${request.service.typeName}/${request.method.name}`;
    try {
      const response = await next(request);
      observer.callEnded({ method, transport: "http", code: 0, durationSeconds: (performance.now() - started) / 1000 });
      return response;
    } catch (reason) {
      const error = ConnectError.from(reason);
      observer.callEnded({ method, transport: "http", code: error.code, durationSeconds: (performance.now() - started) / 1000, error });
      throw error;
    }
  };
}

/**
 * A server span per Connect / gRPC-Web call, a child of the caller's
 * (traceparent in the request headers), around the handler, so what it
 * calls, publishes and logs joins the trace. A streaming response's span
 * ends with its last message.
 */
function tracingInterceptor(): Interceptor {
  return (next) => async (request) => {
    const parent = contextFromHeaders(request.header, ROOT_CONTEXT);
    const span = startRpcSpan({ system: "connect_rpc", service: request.service.typeName, method: request.method.name, side: "server", parent });
    const active = trace.setSpan(parent, span);
    const end = (reason?: unknown) => {
      if (reason === undefined) return endRpcSpan(span, "server", 0);
      const error = ConnectError.from(reason);
      span.setAttribute("rpc.connect_rpc.error_code", connectCodeName(error.code));
      endRpcSpan(span, "server", error.code, error.rawMessage);
    };
    let response;
    try {
      response = await otelContext.with(active, () => next(request));
    } catch (reason) {
      end(reason);
      throw reason;
    }
    if (!response.stream) {
      end();
      return response;
    }
    return { ...response, message: endWith(response.message, active, end) };
  };
}

/** Iterates `messages` inside `ctx` (a generator's body runs on each next()), then calls `end`. */
async function* endWith<T>(messages: AsyncIterable<T>, ctx: Context, end: (reason?: unknown) => void): AsyncGenerator<T> {
  const iterator = messages[Symbol.asyncIterator]();
  let failure: { reason: unknown } | undefined;
  try {
    for (;;) {
      const next = await otelContext.with(ctx, () => iterator.next());
      if (next.done) break;
      yield next.value;
    }
  } catch (reason) {
    failure = { reason };
    throw reason;
  } finally {
    // Also when the caller stops early: the handler's generator is closed, the span ends.
    await otelContext.with(ctx, async () => iterator.return?.()).catch(() => {});
    end(failure?.reason ?? undefined);
  }
}

/** Connect's name for a code, "not_found": the rpc.connect_rpc.error_code attribute. */
function connectCodeName(code: Code): string {
  return (Code[code] ?? String(code)).replace(/[A-Z]/g, (c, i: number) => (i === 0 ? "" : "_") + c.toLowerCase());
}
