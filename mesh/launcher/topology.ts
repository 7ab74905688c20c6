import { parseDocument } from "yaml";
import { checkMeshName } from "../../libs/mesh-names/index.js";
import { parseDevice } from "../../services/inference/runtime/device.js";
import { formatServeSpec, parseServeList } from "../../services/inference/serve-list.js";

/** What `tessera up` starts: one registry and N inference replicas. */
export interface Topology {
  /** Where it was read from, for messages ("mesh/topology.yaml"). */
  readonly source: string;
  /** Address every port binds to. */
  readonly bindHost: string;
  /** NATS for the registry's stores and the events; NATS_URL overrides it. Undefined: nats://127.0.0.1:4222. */
  readonly natsUrl: string | undefined;
  readonly logLevel: LogLevelName;
  /** The mesh every service joins (TESSERA_MESH, given to each); undefined: what the environment says, else `tessera`. */
  readonly mesh?: string | undefined;
  readonly registry: RegistryTopology;
  /** The front door; undefined when the topology has no `router` key (clients then call replicas directly). */
  readonly router: RouterTopology | undefined;
  readonly replicas: readonly ReplicaTopology[];
  readonly monitoring: MonitoringTopology;
  /** Redis for the feature service's online store; REDIS_URL overrides it. Undefined: redis://127.0.0.1:6379. */
  readonly redisUrl?: string | undefined;
  /** Undefined: the topology has no `feature:` key, and no feature service is started. */
  readonly feature?: FeatureTopology | undefined;
}

export interface MonitoringTopology {
  /** Start the monitoring service. Default true. */
  readonly enabled: boolean;
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Extra environment (TESSERA_ALERT_RULES, TESSERA_DRIFT_OPTIONS, ...). */
  readonly env: Readonly<Record<string, string>>;
}

export interface FeatureTopology {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** "redis", "redis-cluster" (redis_url lists seed nodes) or "memory". */
  readonly onlineStore: "redis" | "redis-cluster" | "memory";
  readonly env: Readonly<Record<string, string>>;
}

export interface RouterTopology {
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Extra environment for the process (TESSERA_ROUTER_AUTH, ...). */
  readonly env: Readonly<Record<string, string>>;
}

export type LogLevelName = "debug" | "info" | "warn" | "error";

export interface RegistryTopology {
  /** 0: a free port the OS picks. */
  readonly grpcPort: number;
  readonly httpPort: number;
  /** Where `--embedded` keeps artifacts. */
  readonly dataDir: string;
  /** Extra environment for the process (TESSERA_REGISTRY_BUCKET, ...). */
  readonly env: Readonly<Record<string, string>>;
}

export interface ReplicaTopology {
  /** Name in the table, the log file and membership ("inference-0"). */
  readonly id: string;
  /** "cpu" or "cuda:N". */
  readonly device: string;
  /** model@alias or model@version entries, normalised. */
  readonly serve: readonly string[];
  readonly grpcPort: number;
  readonly httpPort: number;
  readonly instanceCount: number;
  /** Event loops on the replica's gRPC port (TESSERA_FRONTEND_LOOPS); "auto": the machine's default. */
  readonly frontendLoops: number | "auto";
  readonly allowCpuFallback: boolean;
  readonly env: Readonly<Record<string, string>>;
}

/** A topology file that cannot be used; the message names the file and the key. */
export class TopologyError extends Error {
  override name = "TopologyError";
  constructor(
    readonly source: string,
    readonly key: string,
    problem: string,
  ) {
    super(key === "" ? `${source}: ${problem}` : `${source}: ${key}: ${problem}`);
  }
}

/** Triton's ports for replica 0; replica i adds 2i so several fit on one machine. */
export const FIRST_INFERENCE_GRPC_PORT = 8001;
export const FIRST_INFERENCE_HTTP_PORT = 8000;
/** With a router, it takes Triton's ports and the replicas move behind it, from 8101 / 8100. */
export const ROUTER_GRPC_PORT = 8001;
export const ROUTER_HTTP_PORT = 8000;
export const ROUTED_INFERENCE_GRPC_PORT = 8101;
export const ROUTED_INFERENCE_HTTP_PORT = 8100;

const TOP_KEYS = ["bind_host", "nats_url", "log_level", "mesh", "registry", "router", "inference", "monitoring", "redis_url", "feature"] as const;
const MONITORING_KEYS = ["enabled", "grpc_port", "http_port", "env"] as const;
const FEATURE_KEYS = ["grpc_port", "http_port", "online_store", "env"] as const;
const ROUTER_KEYS = ["grpc_port", "http_port", "env"] as const;
const REGISTRY_KEYS = ["grpc_port", "http_port", "data_dir", "env"] as const;
const REPLICA_KEYS = ["id", "device", "serve", "grpc_port", "http_port", "instance_count", "frontend_loops", "allow_cpu_fallback", "env"] as const;
const LOG_LEVELS: readonly LogLevelName[] = ["debug", "info", "warn", "error"];
// Replica ids become NATS KV keys and file names, so they keep to that alphabet.
const REPLICA_ID = /^[A-Za-z0-9][-_A-Za-z0-9]{0,62}$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Parses and checks a topology file (YAML). Every missing key takes its
 * default; an unknown key, a wrong type or a bad value throws a
 * TopologyError naming the key path (`inference[1].device`).
 */
export function parseTopology(text: string, source: string): Topology {
  const doc = parseDocument(text);
  const syntaxError = doc.errors[0];
  if (syntaxError) {
    const at = syntaxError.linePos?.[0];
    throw new TopologyError(source, "", `not valid YAML${at ? ` (line ${at.line}, column ${at.col})` : ""}: ${syntaxError.message.split("\n")[0]!.replace(/ at line \d+, column \d+:?$/, "")}`);
  }
  return readTopology(doc.toJS() ?? {}, source);
}

/** Checks a topology given as plain data (what a YAML file parses to), as parseTopology() does. */
export function readTopology(root: unknown, source: string): Topology {
  const reader = new Reader(source);
  const top = reader.object(root, "", TOP_KEYS);

  const registryNode = reader.object(top.registry ?? {}, "registry", REGISTRY_KEYS);
  const registry: RegistryTopology = {
    grpcPort: reader.port(registryNode.grpc_port, "registry.grpc_port", 50051),
    httpPort: reader.port(registryNode.http_port, "registry.http_port", 8081),
    dataDir: reader.string(registryNode.data_dir, "registry.data_dir", ".tessera/data"),
    env: reader.env(registryNode.env, "registry.env"),
  };

  let router: RouterTopology | undefined;
  if (top.router !== undefined && top.router !== null && top.router !== false) {
    const routerNode = reader.object(top.router === true ? {} : top.router, "router", ROUTER_KEYS);
    router = {
      grpcPort: reader.port(routerNode.grpc_port, "router.grpc_port", ROUTER_GRPC_PORT),
      httpPort: reader.port(routerNode.http_port, "router.http_port", ROUTER_HTTP_PORT),
      env: reader.env(routerNode.env, "router.env"),
    };
  }

  const replicaNodes = top.inference ?? [{}];
  if (!Array.isArray(replicaNodes)) throw new TopologyError(source, "inference", `expected a list of replicas (each "- device: cpu ..."), got ${describe(replicaNodes)}`);
  const firstPorts = router ? [ROUTED_INFERENCE_GRPC_PORT, ROUTED_INFERENCE_HTTP_PORT] as const : [FIRST_INFERENCE_GRPC_PORT, FIRST_INFERENCE_HTTP_PORT] as const;
  const replicas = replicaNodes.map((node: unknown, i) => readReplica(reader, node, i, firstPorts));

  const topology: Topology = {
    source,
    bindHost: reader.string(top.bind_host, "bind_host", "127.0.0.1"),
    natsUrl: top.nats_url === undefined || top.nats_url === null ? undefined : reader.string(top.nats_url, "nats_url", ""),
    logLevel: reader.choice(top.log_level, "log_level", LOG_LEVELS, "info"),
    mesh: readMesh(reader, top.mesh),
    registry,
    router,
    replicas,
    monitoring: readMonitoring(reader, top.monitoring),
    redisUrl: top.redis_url === undefined || top.redis_url === null ? undefined : reader.string(top.redis_url, "redis_url", ""),
    feature: readFeature(reader, top.feature),
  };
  checkUnique(topology);
  return topology;
}

function readMesh(reader: Reader, node: unknown): string | undefined {
  if (node === undefined || node === null) return undefined;
  const mesh = reader.string(node, "mesh", "");
  try {
    return checkMeshName(mesh);
  } catch (error) {
    reader.fail("mesh", (error as Error).message.replace(/^TESSERA_MESH: /, ""));
  }
}

function readMonitoring(reader: Reader, node: unknown): MonitoringTopology {
  const fields = reader.object(node ?? {}, "monitoring", MONITORING_KEYS);
  return {
    enabled: reader.boolean(fields.enabled, "monitoring.enabled", true),
    grpcPort: reader.port(fields.grpc_port, "monitoring.grpc_port", 50053),
    httpPort: reader.port(fields.http_port, "monitoring.http_port", 8083),
    env: reader.env(fields.env, "monitoring.env"),
  };
}

/** No `feature:` key, no feature service (older topology files keep meaning what they meant). */
function readFeature(reader: Reader, node: unknown): FeatureTopology | undefined {
  if (node === undefined) return undefined;
  const fields = reader.object(node ?? {}, "feature", FEATURE_KEYS);
  return {
    grpcPort: reader.port(fields.grpc_port, "feature.grpc_port", 50052),
    httpPort: reader.port(fields.http_port, "feature.http_port", 8082),
    onlineStore: reader.choice(fields.online_store, "feature.online_store", ["redis", "redis-cluster", "memory"] as const, "redis"),
    env: reader.env(fields.env, "feature.env"),
  };
}

function readReplica(reader: Reader, node: unknown, i: number, [firstGrpc, firstHttp]: readonly [number, number]): ReplicaTopology {
  const at = `inference[${i}]`;
  const fields = reader.object(node ?? {}, at, REPLICA_KEYS);
  const id = reader.string(fields.id, `${at}.id`, `inference-${i}`);
  if (!REPLICA_ID.test(id)) reader.fail(`${at}.id`, `"${id}" is not a replica id; use 1-63 letters, digits, '-' or '_', starting with a letter or digit`);
  const device = reader.string(fields.device, `${at}.device`, "cpu");
  try {
    parseDevice(device);
  } catch (error) {
    reader.fail(`${at}.device`, (error as Error).message);
  }
  return {
    id,
    device: device.trim().toLowerCase(),
    serve: readServe(reader, fields.serve, `${at}.serve`),
    grpcPort: reader.port(fields.grpc_port, `${at}.grpc_port`, firstGrpc + 2 * i),
    httpPort: reader.port(fields.http_port, `${at}.http_port`, firstHttp + 2 * i),
    // Above 64 sessions of one version is a typo: each holds a copy of the weights.
    instanceCount: reader.integer(fields.instance_count, `${at}.instance_count`, 1, 1, 64),
    frontendLoops: fields.frontend_loops === "auto" ? "auto" : reader.integer(fields.frontend_loops, `${at}.frontend_loops`, 0, 1, 64) || "auto",
    allowCpuFallback: reader.boolean(fields.allow_cpu_fallback, `${at}.allow_cpu_fallback`, false),
    env: reader.env(fields.env, `${at}.env`),
  };
}

/** A list of entries, or one comma-separated string, as TESSERA_SERVE takes it. */
function readServe(reader: Reader, value: unknown, key: string): string[] {
  if (value === undefined || value === null) return [];
  const entries = typeof value === "string" ? [value] : Array.isArray(value) ? value : reader.fail(key, `expected a list like [fraud@production, wide@3], got ${describe(value)}`);
  const specs: string[] = [];
  entries.forEach((entry: unknown, i: number) => {
    const entryKey = typeof value === "string" ? key : `${key}[${i}]`;
    if (typeof entry !== "string") reader.fail(entryKey, `expected model@alias or model@version, got ${describe(entry)}`);
    try {
      specs.push(...parseServeList(entry).map(formatServeSpec));
    } catch (error) {
      reader.fail(entryKey, (error as Error).message);
    }
  });
  const duplicate = specs.find((spec, i) => specs.indexOf(spec) !== i);
  if (duplicate) reader.fail(key, `"${duplicate}" is listed twice; list each model@alias or model@version once`);
  return specs;
}

/** Two services on one fixed port would fail at start-up with EADDRINUSE; say which keys clash instead. */
function checkUnique(topology: Topology): void {
  const ports = new Map<number, string>();
  const claim = (port: number, key: string) => {
    if (port === 0) return;
    const holder = ports.get(port);
    if (holder) throw new TopologyError(topology.source, key, `port ${port} is already taken by ${holder}; give each port once (or 0 for a free one)`);
    ports.set(port, key);
  };
  claim(topology.registry.grpcPort, "registry.grpc_port");
  claim(topology.registry.httpPort, "registry.http_port");
  if (topology.monitoring.enabled) {
    claim(topology.monitoring.grpcPort, "monitoring.grpc_port");
    claim(topology.monitoring.httpPort, "monitoring.http_port");
  }
  if (topology.feature) {
    claim(topology.feature.grpcPort, "feature.grpc_port");
    claim(topology.feature.httpPort, "feature.http_port");
  }
  if (topology.router) {
    claim(topology.router.grpcPort, "router.grpc_port");
    claim(topology.router.httpPort, "router.http_port");
  }
  const ids = new Map<string, number>();
  topology.replicas.forEach((replica, i) => {
    const first = ids.get(replica.id);
    if (first !== undefined) throw new TopologyError(topology.source, `inference[${i}].id`, `"${replica.id}" is also the id of inference[${first}]; ids must differ`);
    ids.set(replica.id, i);
    claim(replica.grpcPort, `inference[${i}].grpc_port`);
    claim(replica.httpPort, `inference[${i}].http_port`);
  });
}

/** Typed reads of plain YAML values, each failing with the key path. */
class Reader {
  constructor(private readonly source: string) {}

  fail(key: string, problem: string): never {
    throw new TopologyError(this.source, key, problem);
  }

  object<K extends string>(value: unknown, key: string, known: readonly K[]): Partial<Record<K, unknown>> {
    if (typeof value !== "object" || value === null || Array.isArray(value)) this.fail(key, `expected a mapping (key: value lines), got ${describe(value)}`);
    for (const name of Object.keys(value)) {
      if (!(known as readonly string[]).includes(name)) {
        this.fail(key === "" ? name : `${key}.${name}`, `unknown key; known keys here: ${known.join(", ")}`);
      }
    }
    return value as Partial<Record<K, unknown>>;
  }

  string(value: unknown, key: string, fallback: string): string {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "string" || value.trim() === "") this.fail(key, `expected a non-empty string, got ${describe(value)}`);
    return value.trim();
  }

  integer(value: unknown, key: string, fallback: number, min: number, max: number): number {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value)) this.fail(key, `expected a whole number, got ${describe(value)}`);
    if (value < min || value > max) this.fail(key, `must be between ${min} and ${max}, got ${value}`);
    return value;
  }

  port(value: unknown, key: string, fallback: number): number {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > 65535) {
      this.fail(key, `expected a port number 1-65535 (or 0 for a free one), got ${describe(value)}`);
    }
    return value;
  }

  boolean(value: unknown, key: string, fallback: boolean): boolean {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "boolean") this.fail(key, `expected true or false, got ${describe(value)}`);
    return value;
  }

  choice<T extends string>(value: unknown, key: string, allowed: readonly T[], fallback: T): T {
    if (value === undefined || value === null) return fallback;
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) this.fail(key, `expected one of ${allowed.join(", ")}, got ${describe(value)}`);
    return value as T;
  }

  env(value: unknown, key: string): Record<string, string> {
    if (value === undefined || value === null) return {};
    if (typeof value !== "object" || Array.isArray(value)) this.fail(key, `expected a mapping of variable names to values, got ${describe(value)}`);
    const env: Record<string, string> = {};
    for (const [name, raw] of Object.entries(value)) {
      if (!ENV_NAME.test(name)) this.fail(`${key}.${name}`, "not an environment variable name (letters, digits and '_', not starting with a digit)");
      if (typeof raw !== "string" && typeof raw !== "number" && typeof raw !== "boolean") this.fail(`${key}.${name}`, `expected a string, number or boolean, got ${describe(raw)}`);
      env[name] = String(raw);
    }
    return env;
  }
}

function describe(value: unknown): string {
  if (value === null || value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "string") return `"${value}"`;
  return String(value);
}
