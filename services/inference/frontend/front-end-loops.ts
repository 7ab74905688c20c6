import { setMaxListeners } from "node:events";
import { existsSync } from "node:fs";
import { createServer } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createHandlerContext } from "@connectrpc/connect";
import type { GrpcFrontEnd, ServiceRegistration } from "../../../libs/host/index.js";
import type { Logger, LogLevel } from "../../../libs/log/index.js";
import { LOOP_SERVICES } from "./loop-services.js";
import { detachBytes, errorToWire, headerPairs, loopGone, type LoopInit, type LoopToMain, type MainToLoop } from "./loop-wire.js";

export interface FrontEndLoopsOptions {
  /** Loops (worker threads), 2 or more: one loop is the host's own gRPC server. */
  readonly count: number;
  readonly host: string;
  /** 0: a free port, shared by every loop. */
  readonly port: number;
  /** What the main thread answers: the same registrations the HTTP port serves. */
  readonly services: readonly ServiceRegistration[];
  readonly maxMessageBytes: number;
  readonly meshToken: string | undefined;
  readonly logger: Logger;
  readonly logLevel: LogLevel;
  readonly replicaId: string;
  /** How long a loop may take to start listening. Default 30 s. */
  readonly startTimeoutMs?: number;
}

type UnaryFn = (request: unknown, context: ReturnType<typeof createHandlerContext>) => unknown;
type Method = { service: DescService; method: DescMethod; fn: UnaryFn };

interface Loop {
  readonly index: number;
  readonly worker: Worker;
  /** Calls from this loop the main thread is answering: their abort. */
  readonly calls: Map<number, AbortController>;
  readonly exited: Promise<void>;
  drained?: () => void;
}

// A loop that dies is started again after this long (longer while it keeps dying), so a crash loop cannot spin a core.
const RESPAWN_DELAY_MS = [100, 500, 2_000, 5_000];
// /metrics waits this long for a loop's counts, then serves without them (and logs).
const METRICS_WAIT_MS = 2_000;

/**
 * The replica's gRPC port on several event loops (docs/inference.md,
 * "More than one event loop"). Each loop is a worker thread listening on
 * the same port with SO_REUSEPORT, so the kernel spreads connections over
 * them; a loop decodes a call, hands the message to this (the main) thread
 * in a postMessage (bytes moved, not copied), and encodes the answer. The
 * main thread runs the very handlers the HTTP port uses, so every model
 * version keeps one batcher where all connections' requests meet, and
 * health, membership, metrics and ModelStatistics keep one owner.
 *
 * A loop that dies is replaced on the same port; its calls in flight end
 * with its connections (the clients see UNAVAILABLE) and the main thread
 * drops their work. /metrics sums the loops' RPC counts (gatherMetrics).
 */
export class FrontEndLoops implements GrpcFrontEnd {
  readonly address: string;
  private readonly loops: (Loop | undefined)[] = [];
  private readonly methods = new Map<string, Method>();
  private readonly shutdownController = new AbortController();
  private serving = false;
  private closing = false;
  private deaths = 0;
  private nextAsk = 1;
  private readonly asks = new Map<number, (metrics: unknown[]) => void>();
  /** Loops started to replace one that died, so far (tests, logs). */
  replacements = 0;

  private constructor(
    private readonly options: FrontEndLoopsOptions,
    private readonly port: number,
  ) {
    this.address = `${options.host}:${port}`;
    // Every call in flight links its signal to this one: many are normal.
    setMaxListeners(0, this.shutdownController.signal);
    for (const { service, impl } of options.services) {
      for (const method of service.methods) {
        const fn = (impl as Record<string, UnaryFn | undefined>)[method.localName];
        if (fn) this.methods.set(`${service.typeName}/${method.localName}`, { service, method, fn: fn.bind(impl) });
      }
    }
  }

  /** Starts `count` loops on one port; resolves once all listen, rejects (stopping them) if one cannot. */
  static async start(options: FrontEndLoopsOptions): Promise<FrontEndLoops> {
    for (const { service, rawGrpc } of options.services) {
      if (!LOOP_SERVICES.some((s) => s.typeName === service.typeName)) throw new Error(`front-end loops do not serve ${service.typeName}`);
      if (rawGrpc) throw new Error(`front-end loops do not serve raw gRPC methods (${service.typeName})`);
      if (service.methods.some((m) => m.methodKind !== "unary")) throw new Error(`front-end loops serve unary methods only (${service.typeName})`);
    }
    // Every loop sets SO_REUSEPORT, so a port another process holds the same way would be shared silently: check it is free first.
    if (options.port !== 0) await checkPortFree(options.host, options.port);
    const first = await FrontEndLoops.spawn(options, 0, options.port);
    const loops = new FrontEndLoops(options, first.port);
    loops.adopt(first.loop);
    try {
      for (let index = 1; index < options.count; index++) loops.adopt((await FrontEndLoops.spawn(options, index, first.port)).loop);
    } catch (error) {
      await loops.terminateAll();
      throw error;
    }
    options.logger.info("front-end loops listening", { grpc: loops.address, loops: options.count });
    return loops;
  }

  get count(): number {
    return this.options.count;
  }

  setServing(serving: boolean): void {
    this.serving = serving;
    this.broadcast({ type: "serving", serving });
  }

  /** Every loop stops accepting and finishes its calls in flight; then the loops end. */
  async shutdown(): Promise<void> {
    this.closing = true;
    await Promise.all(
      this.live().map(
        (loop) =>
          new Promise<void>((resolve) => {
            loop.drained = resolve;
            void loop.exited.then(resolve);
            loop.worker.postMessage({ type: "drain" } satisfies MainToLoop);
          }),
      ),
    );
    await this.terminateAll();
  }

  forceShutdown(): void {
    this.closing = true;
    this.shutdownController.abort(new ConnectError("the replica is shutting down", Code.Unavailable));
    this.broadcast({ type: "force" });
  }

  /** Each live loop's metrics (prom-client JSON), for the one /metrics; a loop that does not answer in time is left out. */
  async gatherMetrics(): Promise<unknown[][]> {
    const answers = await Promise.all(
      this.live().map(
        (loop) =>
          new Promise<unknown[] | undefined>((resolve) => {
            const ask = this.nextAsk++;
            const timer = setTimeout(() => {
              this.asks.delete(ask);
              this.options.logger.warn("a front-end loop did not send its metrics in time; /metrics leaves its counts out this once", { loop: loop.index });
              resolve(undefined);
            }, METRICS_WAIT_MS);
            this.asks.set(ask, (metrics) => {
              clearTimeout(timer);
              resolve(metrics);
            });
            loop.worker.postMessage({ type: "metrics", ask } satisfies MainToLoop);
          }),
      ),
    );
    return answers.filter((a): a is unknown[] => a !== undefined);
  }

  /** Test fault: loop `index` throws an uncaught error, as a bug in it would. */
  crashLoop(index: number): void {
    this.loops[index]?.worker.postMessage({ type: "crash" } satisfies MainToLoop);
  }

  /** Calls the main thread is answering for loop `index` (tests). */
  callsInFlight(index: number): number {
    return this.loops[index]?.calls.size ?? 0;
  }

  private live(): Loop[] {
    return this.loops.filter((loop): loop is Loop => loop !== undefined);
  }

  private broadcast(message: MainToLoop): void {
    for (const loop of this.live()) loop.worker.postMessage(message);
  }

  private async terminateAll(): Promise<void> {
    await Promise.all(this.live().map(async (loop) => {
      await loop.worker.terminate();
      await loop.exited;
    }));
  }

  private adopt(loop: Loop): void {
    this.loops[loop.index] = loop;
    loop.worker.on("message", (message: LoopToMain) => this.onMessage(loop, message));
    // Serving may have changed while it started.
    loop.worker.postMessage({ type: "serving", serving: this.serving } satisfies MainToLoop);
    void loop.exited.then(() => this.onExit(loop));
  }

  private onMessage(loop: Loop, message: LoopToMain): void {
    switch (message.type) {
      case "call":
        this.dispatch(loop, message);
        break;
      case "cancel":
        loop.calls.get(message.id)?.abort(new ConnectError("the client cancelled the call", Code.Canceled));
        break;
      case "drained":
        loop.drained?.();
        break;
      case "metrics": {
        const answer = this.asks.get(message.ask);
        this.asks.delete(message.ask);
        answer?.(message.metrics);
        break;
      }
      default:
        break;
    }
  }

  /** Runs one call's handler here, where the models are, and sends its answer back to the loop. */
  private dispatch(loop: Loop, call: Extract<LoopToMain, { type: "call" }>): void {
    const target = this.methods.get(`${call.service}/${call.method}`);
    if (!target) {
      const error = new ConnectError(`/${call.service}/${call.method} is not implemented`, Code.Unimplemented);
      loop.worker.postMessage({ type: "fail", id: call.id, error: errorToWire(error), header: [], trailer: [] } satisfies MainToLoop);
      return;
    }
    const abort = new AbortController();
    loop.calls.set(call.id, abort);
    const context = createHandlerContext({
      service: target.service,
      method: target.method,
      protocolName: "grpc",
      requestMethod: "POST",
      url: `/${target.service.typeName}/${target.method.name}`,
      timeoutMs: call.deadline === undefined ? undefined : Math.max(0, call.deadline - Date.now()),
      shutdownSignal: this.shutdownController.signal,
      requestSignal: abort.signal,
      requestHeader: new Headers(call.header),
    });
    const stillWanted = () => loop.calls.delete(call.id) && this.loops[loop.index] === loop;
    new Promise<unknown>((resolve) => resolve(target.fn(call.request, context)))
      .then(
        (response) => {
          if (!stillWanted()) return;
          const transfer = detachBytes(response);
          loop.worker.postMessage({ type: "answer", id: call.id, response, header: headerPairs(context.responseHeader), trailer: headerPairs(context.responseTrailer) } satisfies MainToLoop, transfer);
        },
        (reason: unknown) => {
          if (!stillWanted()) return;
          loop.worker.postMessage({ type: "fail", id: call.id, error: errorToWire(reason), header: headerPairs(context.responseHeader), trailer: headerPairs(context.responseTrailer) } satisfies MainToLoop);
        },
      )
      .catch((reason: unknown) => this.options.logger.error("answering a front-end loop's call failed", { loop: loop.index, error: reason }))
      // Clears the context's deadline timer.
      .finally(() => context.abort());
  }

  private onExit(loop: Loop): void {
    if (this.loops[loop.index] !== loop) return;
    this.loops[loop.index] = undefined;
    // Its clients' connections closed with it; the work it asked for is no longer wanted.
    for (const abort of loop.calls.values()) abort.abort(loopGone("the front-end loop serving this call died"));
    loop.calls.clear();
    if (this.closing) return;
    const delay = RESPAWN_DELAY_MS[Math.min(this.deaths, RESPAWN_DELAY_MS.length - 1)]!;
    this.deaths++;
    this.options.logger.error("a front-end loop died; starting another in its place", { loop: loop.index, delayMs: delay });
    setTimeout(() => void this.respawn(loop.index), delay).unref();
  }

  private async respawn(index: number): Promise<void> {
    if (this.closing) return;
    try {
      const { loop } = await FrontEndLoops.spawn(this.options, index, this.port);
      if (this.closing) {
        await loop.worker.terminate();
        return;
      }
      this.replacements++;
      this.adopt(loop);
      this.options.logger.info("front-end loop replaced", { loop: index });
    } catch (error) {
      this.options.logger.error("could not replace a front-end loop; trying again", { loop: index, error });
      setTimeout(() => void this.respawn(index), RESPAWN_DELAY_MS.at(-1)).unref();
    }
  }

  private static spawn(options: FrontEndLoopsOptions, index: number, port: number): Promise<{ loop: Loop; port: number }> {
    const init: LoopInit = {
      index,
      host: options.host,
      port,
      serving: false,
      maxMessageBytes: options.maxMessageBytes,
      meshToken: options.meshToken,
      logLevel: options.logLevel,
      replicaId: options.replicaId,
      methods: Object.fromEntries(options.services.map(({ service, impl }) => [service.typeName, service.methods.filter((m) => m.localName in impl).map((m) => m.localName)])),
    };
    const worker = new Worker(loopWorkerUrl(), { workerData: init, name: `tessera-frontend-${index}` });
    const exited = new Promise<void>((resolve) => worker.once("exit", () => resolve()));
    // An uncaught error ends the thread ('exit' follows); log it here, where it has a name.
    worker.on("error", (error) => options.logger.error("front-end loop failed", { loop: index, error }));
    return new Promise((resolve, reject) => {
      let settled = false;
      const fail = (why: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        worker.off("message", onMessage);
        void worker.terminate();
        reject(new Error(`front-end loop ${index} could not listen on ${options.host}:${port}: ${why}`));
      };
      const timer = setTimeout(() => fail(`not listening after ${options.startTimeoutMs ?? 30_000} ms`), options.startTimeoutMs ?? 30_000);
      const onMessage = (message: LoopToMain) => {
        if (message.type === "listening" && !settled) {
          settled = true;
          clearTimeout(timer);
          worker.off("message", onMessage);
          resolve({ loop: { index, worker, calls: new Map(), exited }, port: message.port });
        } else if (message.type === "listen-failed") {
          fail(message.code ? `${message.code} (${message.message})` : message.message);
        }
      };
      worker.on("message", onMessage);
      void exited.then(() => fail("the thread exited"));
    });
  }
}

/** Throws EADDRINUSE's error when something already listens on host:port. */
async function checkPortFree(host: string, port: number): Promise<void> {
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", reject);
    probe.listen({ host, port, exclusive: true }, () => resolve());
  });
  await new Promise<void>((resolve) => probe.close(() => resolve()));
}

/**
 * The loop's script: beside this file in the build; from the sources
 * (vitest), the build's copy, which `npm run build` writes.
 */
function loopWorkerUrl(): URL {
  const here = fileURLToPath(import.meta.url);
  if (!here.endsWith(".ts")) return new URL("./loop-worker.js", import.meta.url);
  let root = dirname(here);
  while (!existsSync(join(root, "package.json")) && dirname(root) !== root) root = dirname(root);
  const built = join(root, "dist", "services", "inference", "frontend", "loop-worker.js");
  if (!existsSync(built)) throw new Error(`front-end loops run ${built}, which is not built; run npm run build`);
  return pathToFileURL(built);
}
