import { readFile } from "node:fs/promises";
import { redactUrl } from "../../libs/nats/index.js";
import { join, relative, resolve } from "node:path";
import { Command, Option } from "commander";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { createMeshClient } from "../../libs/host/index.js";
import { checkMeshName } from "../../libs/mesh-names/index.js";
import { checkNats, DEFAULT_NATS_URL, natsAdvice } from "../launcher/check-nats.js";
import { withDevAuth } from "../launcher/dev-auth.js";
import { launchProcesses } from "../launcher/launch-processes.js";
import { pickOnlineStore } from "../launcher/pick-online-store.js";
import { replicaReadiness, type ReplicaReadiness } from "../launcher/replica-readiness.js";
import { repoRoot } from "../launcher/repo-root.js";
import type { RunningMesh } from "../launcher/running-mesh.js";
import { parseTopology, type Topology } from "../launcher/topology.js";
import type { CliIo } from "./cli-io.js";
import { exampleInput } from "./example-input.js";
import { formatMeshTable, nextSteps } from "./format-mesh.js";
import { parseMilliseconds } from "./parse-count.js";
import { UsageError } from "./usage-error.js";
import { watchUntilReady } from "./watch-until-ready.js";

interface UpOptions {
  embedded?: boolean;
  mesh?: string;
  topology?: string;
  logs: string;
  readyTimeout: number;
}

/** `tessera up`: the mesh on this machine, until Ctrl-C. */
export function upCommand(io: CliIo): Command {
  return new Command("up")
    .description("start the mesh on this machine from a topology file (the registry and inference replicas) and keep it running until Ctrl-C")
    .option("--embedded", "run the registry and ONE inference replica inside this process over the embedded stores (memory, a local directory, an in-process bus) — no NATS needed; embedded stores cannot be shared across processes, and everything is lost on exit")
    .option("--topology <file>", "topology file (default: mesh/topology.yaml of this installation)")
    .addOption(new Option("--mesh <name>", "the mesh every service joins: namespaces its NATS subjects, streams and buckets and its Redis keys, so several meshes share one NATS and Redis (env TESSERA_MESH, then the topology's `mesh`; default tessera)").argParser(parseMesh))
    .option("--logs <dir>", "folder for each service's JSON log", ".tessera/logs")
    .addOption(new Option("--ready-timeout <ms>", "how long to wait for replicas to load what they serve").argParser(parseMilliseconds).default(120_000))
    .addHelpText(
      "after",
      "\nWithout --embedded every service is a process of its own over NATS with JetStream (NATS_URL, the topology's nats_url, or nats://127.0.0.1:4222).\nStart one with `nats-server -js`.",
    )
    .action(async (options: UpOptions) => {
      const loaded = await loadTopology(options.topology ? resolve(io.cwd, options.topology) : join(repoRoot(), "mesh", "topology.yaml"), io.cwd);
      const logDir = resolve(io.cwd, options.logs);
      const { topology, key } = await withDevAuth(withMesh(loaded, options.mesh ?? (io.env.TESSERA_MESH ? parseMesh(io.env.TESSERA_MESH) : undefined)), resolve(io.cwd, ".tessera", "router-auth.json"));
      const mesh = await launch(topology, options.embedded ?? false, logDir, io);
      await runUntilStopped(mesh, options.readyTimeout, logDir, io, key);
    });
}

function parseMesh(name: string): string {
  try {
    return checkMeshName(name);
  } catch (error) {
    throw new UsageError(`--mesh / TESSERA_MESH: ${(error as Error).message.replace(/^TESSERA_MESH: /, "")}`);
  }
}

/** `--mesh`, else TESSERA_MESH, else the topology's `mesh`: given to every service as TESSERA_MESH. */
function withMesh(topology: Topology, mesh: string | undefined): Topology {
  return mesh ? { ...topology, mesh } : topology;
}

async function loadTopology(path: string, cwd: string): Promise<Topology> {
  const shown = relative(cwd, path) || path;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read the topology ${shown}${code === "ENOENT" ? ": no such file" : `: ${(error as Error).message}`}`);
  }
  return parseTopology(text, shown);
}

async function launch(topology: Topology, embedded: boolean, logDir: string, io: CliIo): Promise<RunningMesh> {
  const count = `${topology.replicas.length} inference replica${topology.replicas.length === 1 ? "" : "s"}`;
  if (embedded) {
    io.err(`starting the registry${topology.feature ? ", the feature service (online values in memory)" : ""} and ${count} in this process, over the embedded stores (state is lost on exit)\n`);
    // Loaded only here: it brings the services and ONNX Runtime, which the other commands never need.
    const { launchEmbedded } = await import("../launcher/launch-embedded.js");
    return launchEmbedded({ topology, logDir });
  }
  const natsUrl = io.env.NATS_URL || topology.natsUrl || DEFAULT_NATS_URL;
  const check = await checkNats(natsUrl);
  if (!check.ok) throw new Error(natsAdvice(redactUrl(natsUrl), check));
  const feature = topology.feature ? await pickOnlineStore(topology, io.env) : undefined;
  if (feature?.note) io.err(`${feature.note}\n`);
  const featureNote = feature ? `, the feature service (${feature.onlineStore === "memory" ? "online values in memory" : `${feature.onlineStore} at ${redactUrl(feature.redisUrl)}`})` : "";
  io.err(`starting the registry${featureNote} and ${count} as processes over NATS at ${redactUrl(natsUrl)}${topology.mesh ? `, in mesh ${topology.mesh}` : ""}\n`);
  return launchProcesses({ topology, natsUrl, logDir, feature });
}

/** Prints the table, then waits for Ctrl-C / SIGTERM (stop cleanly, exit 0) or a service dying (stop the rest, fail). */
async function runUntilStopped(mesh: RunningMesh, readyTimeoutMs: number, logDir: string, io: CliIo, devKey: string | undefined): Promise<void> {
  const stopRequested = new AbortController();
  const signalled = new Promise<NodeJS.Signals>((resolveSignal) => {
    const onSignal = (signal: NodeJS.Signals) => {
      stopRequested.abort();
      resolveSignal(signal);
      // A second Ctrl-C: stop waiting for the drain; the exit hook kills what is left.
      process.once("SIGINT", () => process.exit(130));
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
  });

  const registry = createMeshClient(RegistryService, { address: mesh.registry.grpcAddress, meshToken: io.env.TESSERA_MESH_TOKEN || undefined });
  const readiness = new Map<string, ReplicaReadiness>();
  try {
    await Promise.all(
      mesh.replicas.map(async (replica) => readiness.set(replica.name, await replicaReadiness(replica, registry.client, { timeoutMs: readyTimeoutMs, signal: stopRequested.signal }))),
    );
  } finally {
    registry.close();
  }

  if (!stopRequested.signal.aborted) {
    io.out(formatMeshTable(mesh, readiness) + "\n\n");
    io.out(`logs: ${relative(io.cwd, logDir) || "."}/ (one JSON line per event, a file per service)\n`);
    if (mesh.router) io.out(`router: gRPC ${mesh.router.grpcAddress}, HTTP ${mesh.router.httpAddress} (the front door)\n`);
    if (devKey) io.out(`router dev API key: ${devKey}\n  export TESSERA_API_KEY=${devKey}   (sent as x-api-key; kept in .tessera/router-auth.json)\n`);
    const steps = nextSteps(mesh, readiness, exampleInput);
    if (steps.length > 0) io.out(`next:\n${steps.map((step) => `  ${step}`).join("\n")}\n`);
    io.out(`mesh is up (${mesh.mode === "embedded" ? "embedded, one process" : "one process per service"}); Ctrl-C stops it\n`);
  }
  const watching = watchUntilReady(mesh.replicas, readiness, { signal: stopRequested.signal, out: (line) => io.out(line) });

  const outcome = await Promise.race([signalled.then((signal) => ({ signal })), mesh.failure.then((failure) => ({ failure }))]);
  stopRequested.abort();
  await watching;
  if ("signal" in outcome) {
    io.err(`${outcome.signal}: stopping the mesh\n`);
    await mesh.stop();
    io.err("stopped\n");
    return;
  }
  io.err(`${outcome.failure}\nstopping the rest of the mesh\n`);
  await mesh.stop();
  throw new Error("the mesh stopped because a service failed (see above)");
}
