import http from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { DescService } from "@bufbuild/protobuf";
import type { ConnectRouter, Interceptor, ServiceImpl } from "@connectrpc/connect";
import { ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Registry } from "prom-client";
import type { CallObserver } from "./call-observer.js";
import type { RawUnaryHandler } from "./raw-grpc-methods.js";
import { hasMeshToken } from "./mesh-token.js";

/** An extra HTTP route (the OIP REST form, say): answers and returns true, or returns false to pass. */
export type HttpRoute = (request: IncomingMessage, response: ServerResponse) => boolean | Promise<boolean>;

export interface ServiceRegistration<S extends DescService = DescService> {
  service: S;
  impl: Partial<ServiceImpl<S>>;
  /** Unary methods (by name) the gRPC port serves as raw bytes instead of through `impl`. */
  rawGrpc?: Readonly<Record<string, RawUnaryHandler>>;
}

/** Pairs a service with its handlers, checked against each other here and erased for the list. */
export function serve<S extends DescService>(service: S, impl: Partial<ServiceImpl<S>>, options: { rawGrpc?: Readonly<Record<string, RawUnaryHandler>> } = {}): ServiceRegistration {
  return { service, impl, rawGrpc: options.rawGrpc } as unknown as ServiceRegistration;
}

export interface HttpServerOptions {
  services: readonly ServiceRegistration[];
  routes: readonly HttpRoute[];
  metrics: Registry;
  observer: CallObserver;
  isReady: () => boolean;
  shutdownSignal: AbortSignal;
  maxMessageBytes: number;
  /** See ServiceHostOptions.meshToken. */
  meshToken?: string;
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
    interceptors: [observingInterceptor(options.observer)],
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
      return sendJson(response, ready ? 200 : 503, { status: ready ? "ready" : "not ready" });
    }
    if (request.method === "GET" && path === "/metrics") {
      const body = await options.metrics.metrics();
      response.writeHead(200, { "content-type": options.metrics.contentType });
      response.end(body);
      return;
    }
    if (options.meshToken && !hasMeshToken(request, options.meshToken)) {
      return sendJson(response, 401, { error: "this service takes calls only through the router (missing or wrong x-tessera-mesh-token)" });
    }
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
