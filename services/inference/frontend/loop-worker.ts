import { setMaxListeners } from "node:events";
import { createServer, type Server as NetServer, type Socket } from "node:net";
import { parentPort, workerData } from "node:worker_threads";
import type { DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { Server, ServerCredentials, type MethodDefinition } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { Registry } from "prom-client";
import { toGrpcHandlers } from "../../../libs/host/grpc-handlers.js";
import { toGrpcServiceDefinition } from "../../../libs/host/grpc-service-definition.js";
import { DEFAULT_MAX_MESSAGE_BYTES } from "../../../libs/host/message-limits.js";
import { everyCallPolicy, meshTokenInterceptor } from "../../../libs/host/mesh-token.js";
import { addReflection } from "../../../libs/host/reflection.js";
import { rpcMetricsObserver } from "../../../libs/host/rpc-metrics.js";
import { createLogger } from "../../../libs/log/index.js";
import { FRONTEND_LOOP_HEADER } from "../../../libs/membership/index.js";
import { TENSOR_TYPED_FIELDS } from "../tensor/tensor-values.js";
import { LOOP_SERVICES } from "./loop-services.js";
import { detachBytes, errorFromWire, headerPairs, loopGone, type LoopInit, type LoopToMain, type MainToLoop } from "./loop-wire.js";

// One front-end loop: a thread that serves the replica's gRPC port beside
// the other loops (SO_REUSEPORT: the kernel spreads connections), decodes
// and encodes the messages, and hands every call to the main thread, which
// holds the models, the batchers and the counts (front-end-loops.ts).

const init = workerData as LoopInit;
const port = parentPort!;
const logger = createLogger("inference", { level: init.logLevel }, { replica: init.replicaId, loop: init.index });
const post = (message: LoopToMain, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

type Settled = Extract<MainToLoop, { type: "answer" | "fail" }>;
const pending = new Map<number, (settled: Settled | Error) => void>();
let nextId = 1;

// After its signal aborts, a call still waits this long for the main
// thread's own answer (which says DEADLINE_EXCEEDED or CANCELLED in the
// words a single loop uses), then gives up: no call waits unbounded.
const ANSWER_AFTER_ABORT_MS = 5_000;

async function callMain(service: DescService, localName: string, request: unknown, context: HandlerContext): Promise<unknown> {
  // Which loop answered: the router keeps opening connections until it has one on each (docs/router.md).
  context.responseHeader.set(FRONTEND_LOOP_HEADER, String(init.index));
  const id = nextId++;
  const settled = await new Promise<Settled | Error>((resolve) => {
    let giveUp: NodeJS.Timeout | undefined;
    const onAbort = () => {
      // A deadline the main thread keeps itself (it was told it) and answers in its own words; a cancel it must be told.
      if (ConnectError.from(context.signal.reason).code !== Code.DeadlineExceeded) post({ type: "cancel", id });
      giveUp = setTimeout(() => settle(context.signal.reason instanceof Error ? context.signal.reason : loopGone("the call was abandoned")), ANSWER_AFTER_ABORT_MS);
      giveUp.unref();
    };
    const settle = (value: Settled | Error) => {
      if (!pending.delete(id)) return;
      clearTimeout(giveUp);
      context.signal.removeEventListener("abort", onAbort);
      resolve(value);
    };
    pending.set(id, settle);
    context.signal.addEventListener("abort", onAbort, { once: true });
    // The request's tensor values are the decoder's own typed arrays: they move without a copy.
    const transfer = detachBytes(request, { ownedValues: true });
    const timeoutMs = context.timeoutMs();
    const deadline = timeoutMs === undefined ? undefined : Date.now() + timeoutMs;
    post({ type: "call", id, service: service.typeName, method: localName, request, deadline, header: headerPairs(context.requestHeader) }, transfer);
  });
  if (settled instanceof Error) throw settled;
  for (const [key, value] of settled.header) context.responseHeader.append(key, value);
  for (const [key, value] of settled.trailer) context.responseTrailer.append(key, value);
  if (settled.type === "fail") throw errorFromWire(settled.error);
  return settled.response;
}

/** A ServiceImpl whose every method the main thread answers. */
function forwardingImpl(service: DescService): Partial<ServiceImpl<DescService>> {
  const impl: Record<string, (request: unknown, context: HandlerContext) => Promise<unknown>> = {};
  for (const localName of init.methods[service.typeName] ?? []) impl[localName] = (request, context) => callMain(service, localName, request, context);
  return impl as unknown as Partial<ServiceImpl<DescService>>;
}

const metrics = new Registry();
const observer = rpcMetricsObserver("inference", metrics, logger);
// The loop's own shutdown signal: aborted when the grace period is over.
const shutdownController = new AbortController();
// Every call in flight links its signal to this one: many are normal.
setMaxListeners(0, shutdownController.signal);
const grpcServer = new Server({
  "grpc.max_receive_message_length": init.maxMessageBytes,
  "grpc.max_send_message_length": DEFAULT_MAX_MESSAGE_BYTES,
  ...(init.meshToken ? { interceptors: [meshTokenInterceptor(everyCallPolicy(init.meshToken))] } : {}),
});
const health = new HealthImplementation({ "": "NOT_SERVING" });
const setServing = (serving: boolean) => {
  const status = serving ? "SERVING" : "NOT_SERVING";
  health.setStatus("", status);
  for (const service of LOOP_SERVICES) health.setStatus(service.typeName, status);
};
setServing(init.serving);
for (const service of LOOP_SERVICES) {
  // As the host's own port does (start-inference.ts): tensor values as typed arrays, which also cross to the main thread by transfer.
  const definition = { ...toGrpcServiceDefinition(service, { typedFields: TENSOR_TYPED_FIELDS }) } as Record<string, MethodDefinition<unknown, unknown>>;
  grpcServer.addService(definition, toGrpcHandlers(service, forwardingImpl(service), { shutdownSignal: shutdownController.signal, observer }));
}
health.addToServer(grpcServer);
addReflection(grpcServer, LOOP_SERVICES);
const injector = grpcServer.createConnectionInjector(ServerCredentials.createInsecure());

// The loop's connections: a drain is over when the last one has closed.
const sockets = new Set<Socket>();
let drainedWhenEmpty: (() => void) | undefined;
const listener: NetServer = createServer({ noDelay: true }, (socket) => {
  sockets.add(socket);
  socket.once("close", () => {
    sockets.delete(socket);
    if (sockets.size === 0) drainedWhenEmpty?.();
  });
  injector.injectConnection(socket);
});
listener.once("error", (error: NodeJS.ErrnoException) => post({ type: "listen-failed", message: error.message, code: error.code }));
listener.listen({ host: init.host, port: init.port, reusePort: true }, () => {
  const address = listener.address();
  post({ type: "listening", port: typeof address === "object" && address ? address.port : init.port });
});

port.on("message", (message: MainToLoop) => {
  switch (message.type) {
    case "answer":
    case "fail":
      pending.get(message.id)?.(message);
      break;
    case "serving":
      setServing(message.serving);
      break;
    case "drain":
      // Stop accepting, let the calls in flight finish (GOAWAY to the clients), then say so.
      // tryShutdown's callback does not wait for that on every Node (Node 24's Http2Server.close
      // marks the sessions closed first, and grpc-js then takes them for done): the sockets do.
      listener.close();
      drainedWhenEmpty = () => post({ type: "drained" });
      grpcServer.tryShutdown(() => {
        if (sockets.size === 0) drainedWhenEmpty?.();
      });
      break;
    case "force":
      shutdownController.abort(new Error("server shutting down"));
      for (const settle of [...pending.values()]) settle(loopGone("the replica is shutting down"));
      grpcServer.forceShutdown();
      for (const socket of sockets) socket.destroy();
      break;
    case "metrics":
      void metrics.getMetricsAsJSON().then((json) => post({ type: "metrics", ask: message.ask, metrics: json }));
      break;
    case "crash":
      setImmediate(() => {
        throw new Error("front-end loop crash (test fault)");
      });
      break;
  }
});
