import { spawn, type ChildProcess } from "node:child_process";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { jetstreamManager } from "@nats-io/jetstream";
import { openBackends } from "../../../libs/backends/index.js";
import { GRPCInferenceService } from "../../../libs/gen/inference/grpc_service_pb.js";
import { InferenceService, ModelState } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import type { BatchingConfigSchema } from "../../../libs/gen/tessera/registry/v1/batching_pb.js";
import { RegistryService } from "../../../libs/gen/tessera/registry/v1/registry_pb.js";
import { createMeshClient, type MeshClient, type ServiceHost } from "../../../libs/host/index.js";
import { silentLogger } from "../../../libs/log/index.js";
import { connectNats } from "../../../libs/nats/index.js";
import { uploadModelVersion } from "../../../libs/registry-client/index.js";
import { checkNats, startNatsServer, uniqueName, type NatsServerHandle } from "../../../libs/testing/index.js";
import { startRegistry } from "../../../services/registry/start-registry.js";
import { freePort } from "./free-port.js";

const REPO_ROOT = fileURLToPath(new URL("../../../../", import.meta.url));
const INFERENCE_MAIN = fileURLToPath(new URL("../../../services/inference/main.js", import.meta.url));
const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

export type BatchingInit = MessageInitShape<typeof BatchingConfigSchema>;

/** A registry in this process on NATS, ready to take model versions for replicas spawned beside it. */
export interface BenchMesh {
  natsUrl: string;
  registryAddress: string;
  registry: MeshClient<typeof RegistryService>["client"];
  /** The membership bucket the replicas heartbeat into (TESSERA_REPLICAS_BUCKET), this run's only: a bench router reads it. */
  replicasBucket: string;
  /** Uploads models/<file> as a new version of `model`, with `production` pointing at it. */
  pushModel(model: string, file: string, batching: BatchingInit): Promise<number>;
  /** Spawns `node dist/services/inference/main.js` serving `serve` (model names, @production) and waits for READY. */
  startReplica(serve: readonly string[], env?: Record<string, string>): Promise<BenchReplica>;
  /** Stops every replica, the registry, its buckets, and NATS when the mesh started it. */
  stop(): Promise<void>;
}

/** An inference replica in a process of its own. */
export interface BenchReplica {
  pid: number;
  grpcAddress: string;
  client: MeshClient<typeof InferenceService>["client"];
  oip: MeshClient<typeof GRPCInferenceService>["client"];
  /** Resident set size of the replica process (VmRSS), in MB. */
  rssMb(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * NATS_URL when set; else the usual local server when it answers; else a
 * private nats-server (needs the binary on PATH).
 */
async function resolveNats(): Promise<{ url: string; server?: NatsServerHandle }> {
  const fromEnv = process.env.NATS_URL;
  if (fromEnv) {
    await checkNats(fromEnv);
    return { url: fromEnv };
  }
  try {
    await checkNats(DEFAULT_NATS_URL);
    return { url: DEFAULT_NATS_URL };
  } catch {
    const server = await startNatsServer();
    return { url: server.url, server };
  }
}

export async function startBenchMesh(): Promise<BenchMesh> {
  const nats = await resolveNats();
  const backends = await openBackends({ mode: "nats", natsUrl: nats.url, clientName: "bench-registry", logger: silentLogger });
  // Fresh buckets per run, deleted at the end, so runs neither see nor pile up each other's artifacts.
  const metadataBucket = uniqueName("bench_reg");
  const artifactBucket = uniqueName("bench_art");
  // Membership of this run only: a mesh on the same NATS (a demo, `tessera up`) never routes to a bench replica.
  const replicasBucket = uniqueName("bench_rep");
  const host: ServiceHost = await startRegistry({
    config: { host: "127.0.0.1", grpcPort: 0, httpPort: 0, metadataBucket, artifactBucket, maxArtifactBytes: 256 * 1024 * 1024 },
    backends,
    logger: silentLogger,
  });
  const registry = createMeshClient(RegistryService, { address: host.grpcAddress, defaultTimeoutMs: 60_000 });
  const replicas = new Set<BenchReplica>();

  return {
    natsUrl: nats.url,
    registryAddress: host.grpcAddress,
    registry: registry.client,
    replicasBucket,

    async pushModel(model, file, batching) {
      const artifact = await readFile(new URL(`models/${file}`, `file://${REPO_ROOT}`));
      const version = await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"], batching }, artifact);
      return version.version;
    },

    async startReplica(serve, env = {}) {
      const replica = await spawnReplica(serve, { natsUrl: nats.url, registryAddress: host.grpcAddress, env: { TESSERA_REPLICAS_BUCKET: replicasBucket, ...env } });
      replicas.add(replica);
      const stop = replica.stop;
      replica.stop = async () => {
        replicas.delete(replica);
        await stop();
      };
      return replica;
    },

    async stop() {
      const teardown = async () => {
        await Promise.allSettled([...replicas].map((r) => r.stop()));
        registry.close();
        await host.shutdown();
        await deleteBuckets(nats.url, [`KV_${metadataBucket}`, `OBJ_${artifactBucket}`, `KV_${replicasBucket}`]);
        await nats.server?.stop();
      };
      // A bench must end: a teardown stuck on a busy machine is reported, not waited on.
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          process.stderr.write("bench mesh: teardown took over 20 s; leaving it\n");
          resolve();
        }, 20_000);
      });
      await Promise.race([teardown(), timeout]);
      clearTimeout(timer);
    },
  };
}

async function deleteBuckets(url: string, streams: readonly string[]): Promise<void> {
  const nc = await connectNats({ servers: url, name: "bench-cleanup" });
  try {
    const jsm = await jetstreamManager(nc);
    for (const stream of streams) await jsm.streams.delete(stream).catch(() => false);
  } finally {
    await nc.close();
  }
}

async function spawnReplica(
  serve: readonly string[],
  options: { natsUrl: string; registryAddress: string; env: Record<string, string> },
): Promise<BenchReplica> {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  // BENCH_CPU_PROF_DIR: the replica writes a V8 CPU profile there when it exits (node --cpu-prof).
  const profileDir = process.env.BENCH_CPU_PROF_DIR;
  const nodeArgs = profileDir ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, INFERENCE_MAIN], {
    cwd: REPO_ROOT,
    stdio: ["ignore", "ignore", "inherit"],
    env: {
      ...process.env,
      NATS_URL: options.natsUrl,
      TESSERA_REGISTRY_ADDRESS: options.registryAddress,
      TESSERA_INFERENCE_GRPC_PORT: String(grpcPort),
      TESSERA_INFERENCE_HTTP_PORT: String(httpPort),
      TESSERA_SERVE: serve.map((m) => `${m}@production`).join(","),
      TESSERA_LOG_LEVEL: "warn",
      ...options.env,
    },
  });
  let exited: string | undefined;
  const exit = new Promise<void>((resolve) =>
    child.once("exit", (code, signal) => {
      exited = `inference replica exited (code ${code}, signal ${signal})`;
      resolve();
    }),
  );
  const grpcAddress = `127.0.0.1:${grpcPort}`;
  const client = createMeshClient(InferenceService, { address: grpcAddress, defaultTimeoutMs: 5_000 });
  const oip = createMeshClient(GRPCInferenceService, { address: grpcAddress, defaultTimeoutMs: 5_000 });
  const pid = child.pid ?? 0;

  const stop = async () => {
    client.close();
    oip.close();
    if (exited === undefined) {
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exit;
      clearTimeout(killer);
    }
  };

  try {
    await waitReady(client.client, serve, () => exited);
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid, grpcAddress, client: client.client, oip: oip.client, rssMb: () => readRssMb(pid), stop };
}

/** Polls ListServedModels until every model is READY; a FAILED model or a dead process ends the wait at once. */
async function waitReady(client: MeshClient<typeof InferenceService>["client"], serve: readonly string[], exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + 120_000;
  let last = "no answer yet";
  while (Date.now() < deadline) {
    const dead = exited();
    if (dead) throw new Error(`${dead} before its models were ready`);
    try {
      const { models } = await client.listServedModels({}, { timeoutMs: 2_000 });
      const failed = models.find((m) => m.state === ModelState.FAILED);
      if (failed) throw new Error(`replica could not load ${failed.model}@${failed.version}: ${failed.error}`);
      const ready = new Set(models.filter((m) => m.state === ModelState.READY).map((m) => m.model));
      if (serve.every((m) => ready.has(m))) return;
      last = models.map((m) => `${m.model}@${m.version}=${ModelState[m.state]}`).join(", ") || "nothing served yet";
    } catch (error) {
      if (error instanceof Error && error.message.startsWith("replica could not load")) throw error;
      last = String((error as Error)?.message ?? error);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`inference replica not ready after 120 s: ${last}`);
}

/** VmRSS of a process, in MB (Linux /proc). */
export async function readRssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]) / 1024;
}
