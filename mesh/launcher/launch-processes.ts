import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { describeExit, spawnChildService, type ChildService } from "./child-service.js";
import type { ListeningAddresses } from "./listening-line.js";
import { repoRoot, serviceEntry } from "./repo-root.js";
import type { RunningMesh, ServiceEndpoint } from "./running-mesh.js";
import type { OnlineStoreChoice } from "./pick-online-store.js";
import { dialAddress, featureEnv, monitoringEnv, registryEnv, replicaEnv, routerEnv, type StoreMode } from "./service-env.js";
import type { Topology } from "./topology.js";
import { waitForHttp } from "./wait-for-http.js";

export interface LaunchProcessesOptions {
  readonly topology: Topology;
  /** Every service's NATS: the registry's stores and the events all go through it. */
  readonly natsUrl: string;
  /** One <name>.log per service is appended to here. */
  readonly logDir: string;
  /** The repository root holding dist/. Default: found from this file. */
  readonly root?: string;
  /** Longest a service may take to start listening and answer /healthz, ms. Default 60 s (the first start of onnxruntime is slow on a busy laptop). */
  readonly startTimeoutMs?: number;
  /** Start the feature service too, over this online store. */
  readonly feature?: OnlineStoreChoice;
}

/**
 * Starts the registry, then every inference replica, each as a process of
 * its own (`node dist/services/<name>/main.js`) configured through its
 * environment, and resolves once each is listening and live. If one fails
 * to start, the ones already started are stopped and the error says why,
 * with the tail of its log.
 */
export async function launchProcesses(options: LaunchProcessesOptions): Promise<RunningMesh> {
  const { topology } = options;
  const root = options.root ?? repoRoot();
  const startTimeoutMs = options.startTimeoutMs ?? 60_000;
  const store: StoreMode = { kind: "nats", natsUrl: options.natsUrl };
  for (const name of ["registry", "inference", ...(topology.monitoring.enabled ? (["monitoring"] as const) : []), ...(options.feature ? (["feature"] as const) : []), ...(topology.router ? (["router"] as const) : [])] as const) {
    const entry = serviceEntry(name, root);
    if (!existsSync(entry)) throw new Error(`${relative(process.cwd(), entry)} is missing: build first with \`npm run build\``);
  }
  await mkdir(options.logDir, { recursive: true });

  const children: ChildService[] = [];
  const stopAll = async () => {
    // Replicas first: they may still fetch from the registry while draining.
    await Promise.all(children.slice(1).map((child) => child.stop()));
    await children[0]?.stop();
  };

  try {
    const registryChild = spawnChildService({
      name: "registry",
      entry: serviceEntry("registry", root),
      env: registryEnv(topology, store),
      logFile: join(options.logDir, "registry.log"),
    });
    children.push(registryChild);
    const registryAt = await started(registryChild, startTimeoutMs);
    const registry: ServiceEndpoint = { name: "registry", kind: "registry", grpcAddress: registryAt.grpc, httpAddress: registryAt.http, logFile: registryChild.logFile, serve: [] };

    // The router before monitoring, whose rollouts drive it: so they know where it listens, a free port included.
    let router: ServiceEndpoint | undefined;
    if (topology.router) {
      const routerChild = spawnChildService({
        name: "router",
        entry: serviceEntry("router", root),
        env: routerEnv(topology, topology.router, { registryAddress: registry.grpcAddress, natsUrl: options.natsUrl }),
        logFile: join(options.logDir, "router.log"),
      });
      children.push(routerChild);
      const routerAt = await started(routerChild, startTimeoutMs);
      router = { name: "router", kind: "router", grpcAddress: routerAt.grpc, httpAddress: routerAt.http, logFile: routerChild.logFile, serve: [] };
    }

    const monitoringChild = topology.monitoring.enabled
      ? spawnChildService({
          name: "monitoring",
          entry: serviceEntry("monitoring", root),
          env: monitoringEnv(topology, { registryAddress: registry.grpcAddress, store, routerAddress: router?.grpcAddress }),
          logFile: join(options.logDir, "monitoring.log"),
        })
      : undefined;
    if (monitoringChild) children.push(monitoringChild);

    let feature: RunningMesh["feature"];
    if (options.feature) {
      const featureChild = spawnChildService({
        name: "feature",
        entry: serviceEntry("feature", root),
        env: featureEnv(topology, store, options.feature),
        logFile: join(options.logDir, "feature.log"),
      });
      children.push(featureChild);
      const at = await started(featureChild, startTimeoutMs);
      feature = { name: "feature", kind: "feature", grpcAddress: at.grpc, httpAddress: at.http, logFile: featureChild.logFile, serve: [], onlineStore: options.feature.onlineStore };
    }

    const replicaChildren = topology.replicas.map((replica) => {
      const child = spawnChildService({
        name: replica.id,
        entry: serviceEntry("inference", root),
        env: replicaEnv(topology, replica, { registryAddress: registry.grpcAddress, store, featureAddress: feature?.grpcAddress }),
        logFile: join(options.logDir, `${replica.id}.log`),
      });
      children.push(child);
      return child;
    });
    const replicaAddresses = await Promise.all(replicaChildren.map((child) => started(child, startTimeoutMs)));
    const monitoringAt = monitoringChild ? await started(monitoringChild, startTimeoutMs) : undefined;
    const monitoring: ServiceEndpoint | undefined =
      monitoringChild && monitoringAt
        ? { name: "monitoring", kind: "monitoring", grpcAddress: monitoringAt.grpc, httpAddress: monitoringAt.http, logFile: monitoringChild.logFile, serve: [] }
        : undefined;
    const replicas: ServiceEndpoint[] = topology.replicas.map((replica, i) => ({
      name: replica.id,
      kind: "inference",
      grpcAddress: replicaAddresses[i]!.grpc,
      httpAddress: replicaAddresses[i]!.http,
      logFile: replicaChildren[i]!.logFile,
      device: replica.device,
      serve: replica.serve,
    }));


    let stopping: Promise<void> | undefined;
    return {
      mode: "processes",
      registry,
      router,
      replicas,
      ...(monitoring ? { monitoring } : {}),
      feature,
      failure: firstUnexpectedExit(children),
      stop: () => (stopping ??= stopAll()),
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Waits until the child logs where it listens and answers /healthz; fails with its log tail if it exits or hangs. */
async function started(child: ChildService, timeoutMs: number): Promise<ListeningAddresses> {
  const gaveUp = new AbortController();
  void child.exited.then(() => gaveUp.abort());
  const timer = setTimeout(() => gaveUp.abort(), timeoutMs);
  timer.unref();
  try {
    const addresses = await Promise.race([child.listening, abortion(gaveUp.signal)]).catch(() => undefined);
    if (addresses) {
      const dialable = { grpc: dialAddress(addresses.grpc), http: dialAddress(addresses.http) };
      if (await waitForHttp(`http://${dialable.http}/healthz`, { timeoutMs, signal: gaveUp.signal })) return dialable;
    }
    const status = child.exitStatus();
    const why = status ? `exited (${describeExit(status)})` : `did not start within ${Math.round(timeoutMs / 1000)} s`;
    throw new Error(`${child.name} ${why}; the end of its log (${child.logFile}):\n${indent(child.recentOutput())}`);
  } finally {
    clearTimeout(timer);
  }
}

function abortion(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => signal.addEventListener("abort", () => reject(new Error("gave up")), { once: true }));
}

/** The first exit of a child nobody asked to stop, described for the person at the terminal. */
function firstUnexpectedExit(children: readonly ChildService[]): Promise<string> {
  return new Promise((resolve) => {
    for (const child of children) {
      void child.exited.then((status) => {
        if (!child.stopping) resolve(`${child.name} exited (${describeExit(status)}); the end of its log (${child.logFile}):\n${indent(child.recentOutput())}`);
      });
    }
  });
}

function indent(text: string): string {
  return text === "" ? "  (nothing logged)" : text.split("\n").map((line) => `  ${line}`).join("\n");
}
