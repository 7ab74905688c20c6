import { once, setMaxListeners } from "node:events";
import type { AddressInfo } from "node:net";
import { Server, ServerCredentials, type MethodDefinition } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { collectDefaultMetrics, Registry } from "prom-client";
import type { Logger } from "../log/index.js";
import { rpcMetricsObserver } from "./rpc-metrics.js";
import { toGrpcHandlers } from "./grpc-handlers.js";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./message-limits.js";
import { toGrpcServiceDefinition } from "./grpc-service-definition.js";
import { addReflection } from "./reflection.js";
import { applyRawGrpcMethods } from "./raw-grpc-methods.js";
import { everyCallPolicy, meshTokenInterceptor, type MeshTokenPolicy } from "./mesh-token.js";
import { createHttpServer, type HttpRoute, type ServiceRegistration } from "./http-server.js";

export interface ServiceHostOptions {
  /** Short service name ("registry"): metric prefix tessera_<name>_ and log field. */
  name: string;
  services: readonly ServiceRegistration[];
  /** Extra HTTP routes, tried before Connect (e.g. the OIP REST form). */
  routes?: readonly HttpRoute[];
  /** Address both ports bind to. Default 127.0.0.1; 0.0.0.0 in containers. */
  host?: string;
  /** 0 asks the OS for a free port (tests). */
  grpcPort: number;
  httpPort: number;
  logger: Logger;
  /** Metrics registry the service also registers its own metrics in. */
  metrics?: Registry;
  /** Largest request message, in bytes, on both ports. Default DEFAULT_MAX_MESSAGE_BYTES (64 MiB). */
  maxMessageBytes?: number;
  /** How long shutdown waits for in-flight calls before cutting them. Default 10 s. */
  shutdownGraceMs?: number;
  /**
   * When set, calls without this x-tessera-mesh-token are refused
   * (UNAUTHENTICATED, HTTP 401; a wrong one PERMISSION_DENIED, 403), except
   * health, reflection and metrics. A string guards every call (a replica
   * then answers only what came through the router); a policy may guard
   * fewer (writesOnly).
   */
  meshToken?: string | MeshTokenPolicy;
  /** Runs after both ports have stopped: close NATS, Redis, sessions. */
  onClose?: () => Promise<void>;
  /**
   * The gRPC port served elsewhere (an inference replica's front-end
   * loops): this host then opens no gRPC server of its own, reports that
   * one's address, and drives its health and its shutdown.
   */
  grpcFrontEnd?: GrpcFrontEnd;
}

/** A gRPC port served outside the host (see ServiceHostOptions.grpcFrontEnd). */
export interface GrpcFrontEnd {
  /** host:port it listens on. */
  readonly address: string;
  /** Health: what grpc.health.v1 answers there, for "" and every service. */
  setServing(serving: boolean): void;
  /** Stops accepting and resolves once every call in flight there has ended. */
  shutdown(): Promise<void>;
  /** Ends the calls still in flight (the grace period is over). */
  forceShutdown(): void;
}

export interface ServiceHost {
  readonly grpcAddress: string;
  readonly httpAddress: string;
  readonly metrics: Registry;
  /** Aborted once shutdown starts forcing calls closed. */
  readonly shutdownSignal: AbortSignal;
  /** Health: SERVING for every service (and "") once ready, NOT_SERVING otherwise. */
  setReady(ready: boolean): void;
  /** Ready: setReady(true) and no problem reported. */
  isReady(): boolean;
  /**
   * Readiness hook: while `source` (e.g. "nats") has a problem the service
   * is not ready, whatever setReady says, and /readyz names the problem;
   * undefined clears it. For a store the service cannot work without.
   */
  reportProblem(source: string, problem: string | undefined): void;
  /** Stop accepting, drain in-flight calls within the grace period, then close. Idempotent. */
  shutdown(): Promise<void>;
}

/** Starts one service on its gRPC port and its HTTP port (DESIGN.md, Wire). */
export async function startService(options: ServiceHostOptions): Promise<ServiceHost> {
  const host = options.host ?? "127.0.0.1";
  const metrics = options.metrics ?? new Registry();
  collectDefaultMetrics({ register: metrics });
  const observer = rpcMetricsObserver(options.name, metrics, options.logger);
  const shutdownController = new AbortController();
  // Every in-flight call links its own signal to this one: many are normal.
  setMaxListeners(0, shutdownController.signal);
  const maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const graceMs = options.shutdownGraceMs ?? 10_000;

  const health = new HealthImplementation({ "": "NOT_SERVING" });
  const serviceNames = options.services.map((s) => s.service.typeName);
  serviceNames.forEach((name) => health.setStatus(name, "NOT_SERVING"));
  let ready = false;
  const problems = new Map<string, string>();
  const effectiveReady = () => ready && problems.size === 0;

  const meshToken: MeshTokenPolicy | undefined =
    typeof options.meshToken === "string" ? everyCallPolicy(options.meshToken) : options.meshToken;
  const grpc = options.grpcFrontEnd ?? (await startGrpcServer(options, { host, health, shutdownSignal: shutdownController.signal, observer, maxMessageBytes, meshToken }));

  const httpServer = createHttpServer({
    services: options.services,
    routes: options.routes ?? [],
    metrics,
    observer,
    isReady: effectiveReady,
    notReadyReason: () => (problems.size > 0 ? [...problems.values()].join("; ") : ready ? undefined : "starting or shutting down"),
    shutdownSignal: shutdownController.signal,
    maxMessageBytes,
    meshToken,
  });
  httpServer.listen(options.httpPort, host);
  await once(httpServer, "listening");
  const httpPort = (httpServer.address() as AddressInfo).port;

  const grpcAddress = grpc.address;
  const httpAddress = `${host}:${httpPort}`;
  options.logger.info("listening", { grpc: grpcAddress, http: httpAddress });

  let closing: Promise<void> | undefined;
  const setReady = (value: boolean) => {
    ready = value;
    const status = effectiveReady() ? "SERVING" : "NOT_SERVING";
    health.setStatus("", status);
    serviceNames.forEach((name) => health.setStatus(name, status));
    if (options.grpcFrontEnd) options.grpcFrontEnd.setServing(status === "SERVING");
  };

  return {
    grpcAddress,
    httpAddress,
    metrics,
    shutdownSignal: shutdownController.signal,
    setReady,
    isReady: effectiveReady,
    reportProblem(source, problem) {
      if (problem === undefined) problems.delete(source);
      else problems.set(source, problem);
      setReady(ready);
    },
    shutdown: () => (closing ??= shutdown()),
  };

  async function shutdown(): Promise<void> {
    options.logger.info("shutting down", { graceMs });
    setReady(false);
    const force = setTimeout(() => {
      options.logger.warn("grace period over, closing remaining calls");
      shutdownController.abort(new Error("server shutting down"));
      grpc.forceShutdown();
      httpServer.closeAllConnections();
    }, graceMs);
    force.unref();
    await Promise.all([
      grpc.shutdown(),
      new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        httpServer.closeIdleConnections();
      }),
    ]);
    clearTimeout(force);
    if (!shutdownController.signal.aborted) shutdownController.abort(new Error("server stopped"));
    await options.onClose?.();
    options.logger.info("stopped");
  }
}

/** The host's own gRPC server, bound to its port. */
interface GrpcServerParts {
  readonly host: string;
  readonly health: HealthImplementation;
  readonly shutdownSignal: AbortSignal;
  readonly observer: ReturnType<typeof rpcMetricsObserver>;
  readonly maxMessageBytes: number;
  readonly meshToken: MeshTokenPolicy | undefined;
}

async function startGrpcServer(
  options: ServiceHostOptions,
  { host, health, shutdownSignal, observer, maxMessageBytes, meshToken }: GrpcServerParts,
): Promise<GrpcFrontEnd> {
  const grpcServer = new Server({
    "grpc.max_receive_message_length": maxMessageBytes,
    "grpc.max_send_message_length": DEFAULT_MAX_MESSAGE_BYTES,
    ...(meshToken ? { interceptors: [meshTokenInterceptor(meshToken)] } : {}),
  });
  for (const { service, impl, rawGrpc, typedFields } of options.services) {
    const definition = { ...toGrpcServiceDefinition(service, { typedFields }) } as Record<string, MethodDefinition<unknown, unknown>>;
    const handlers = toGrpcHandlers(service, impl, { shutdownSignal, observer });
    if (rawGrpc) applyRawGrpcMethods(definition, handlers, rawGrpc);
    grpcServer.addService(definition, handlers);
  }
  health.addToServer(grpcServer);
  addReflection(grpcServer, options.services.map((s) => s.service));

  const grpcPort = await new Promise<number>((resolve, reject) =>
    grpcServer.bindAsync(`${host}:${options.grpcPort}`, ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
  );

  return {
    address: `${host}:${grpcPort}`,
    setServing: () => {},
    shutdown: () => new Promise<void>((resolve) => grpcServer.tryShutdown(() => resolve())),
    forceShutdown: () => grpcServer.forceShutdown(),
  };
}

/** Shuts the host down on SIGTERM or SIGINT, then exits. For a service's main. */
export function shutdownOnSignals(host: Pick<ServiceHost, "shutdown">, logger: Logger): void {
  const onSignal = (signal: NodeJS.Signals) => {
    logger.info("signal received", { signal });
    host.shutdown().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error("shutdown failed", { error });
        process.exit(1);
      },
    );
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
}
