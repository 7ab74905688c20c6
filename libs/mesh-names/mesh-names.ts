import { ConfigError, readString, type Env } from "../config/index.js";

/** The mesh every name defaults to; with it, every name is what it was before meshes existed. */
export const DEFAULT_MESH = "tessera";

/** The environment variable that names the mesh a process belongs to. */
export const MESH_ENV = "TESSERA_MESH";

// The name becomes a subject token, a bucket-name prefix and (upper-cased) a
// stream-name prefix, so it keeps to what all three accept.
const MESH_NAME = /^[a-z][a-z0-9_-]{0,31}$/;
// Mesh "blue-predictions" would capture `blue-predictions.>` in its events
// stream: mesh "blue"'s prediction logs. JetStream refuses overlapping streams.
const RESERVED_SUFFIX = "-predictions";
// Feature push subjects predate meshes: `feature_push.<view>` in the default
// mesh, `<mesh>_feature_push.<view>` in others (prefixed()). A mesh named
// `feature_push` or `x_feature_push` would capture them in its events stream.
const PUSH_PREFIX = "feature_push";

/**
 * The NATS names of one mesh. Code names things by their logical name, the
 * one they have in the `tessera` mesh (`tessera.registry.alias.moved`,
 * `tessera_registry`, `TESSERA_EVENTS`); these functions give the wire name
 * in this mesh by replacing the leading `tessera`. Names that do not start
 * with `tessera` are not Tessera's and pass through unchanged (a test's
 * private bucket, say). Two meshes on one NATS then share no subject,
 * stream or bucket.
 */
export interface MeshNames {
  readonly mesh: string;
  /**
   * `tessera.x.y` (a subject or a pattern) → `<mesh>.x.y`; the families kept
   * outside the events stream on purpose, `tessera-x.y` (prediction logs),
   * → `<mesh>-x.y`.
   */
  subject(logical: string): string;
  /** The reverse of subject(): what a subscriber in this mesh is shown. */
  logicalSubject(wire: string): string;
  /** `tessera_x` (a KV or object-store bucket) → `<mesh>_x`. */
  bucket(logical: string): string;
  /** `TESSERA_X` (a JetStream stream) → `<MESH>_X`. */
  stream(logical: string): string;
  /**
   * A name from before meshes that does not start with `tessera` (the
   * feature push prefix `feature_push`, the Redis key prefix `tf:`): kept
   * as it is in the default mesh, so existing deployments keep their data,
   * and `<mesh><separator><name>` in any other.
   */
  prefixed(name: string, separator?: string): string;
  /** The events stream: TESSERA_EVENTS → `<MESH>_EVENTS`. */
  readonly eventsStream: string;
  /** What the events stream captures: `<mesh>.>`. */
  readonly eventsSubjects: string;
}

/** Throws a ConfigError (naming TESSERA_MESH) unless `mesh` is a valid mesh name. */
export function checkMeshName(mesh: string): string {
  if (!MESH_NAME.test(mesh)) {
    throw new ConfigError(MESH_ENV, `"${mesh}" is not a valid mesh name: use 1-32 lower-case letters, digits, '-' or '_', starting with a letter`);
  }
  if (mesh.endsWith(RESERVED_SUFFIX)) {
    throw new ConfigError(MESH_ENV, `"${mesh}" is not a valid mesh name: names ending in "${RESERVED_SUFFIX}" are kept for prediction-log subjects (mesh "${mesh.slice(0, -RESERVED_SUFFIX.length)}" uses them)`);
  }
  if (mesh === PUSH_PREFIX || mesh.endsWith(`_${PUSH_PREFIX}`)) {
    throw new ConfigError(MESH_ENV, `"${mesh}" is not a valid mesh name: "${PUSH_PREFIX}" and names ending in "_${PUSH_PREFIX}" are kept for feature push subjects`);
  }
  return mesh;
}

/** The mesh this process belongs to: TESSERA_MESH, default "tessera". */
export function readMeshName(env: Env): string {
  return checkMeshName(readString(env, MESH_ENV, DEFAULT_MESH));
}

export function meshNames(mesh: string = DEFAULT_MESH): MeshNames {
  checkMeshName(mesh);
  const swap = (name: string, from: string, to: string, separator: string) =>
    name === from ? to : name.startsWith(from + separator) ? to + name.slice(from.length) : name;
  const swapSubject = (name: string, from: string, to: string) => (name.startsWith(from + "-") ? to + name.slice(from.length) : swap(name, from, to, "."));
  return {
    mesh,
    subject: (logical) => swapSubject(logical, DEFAULT_MESH, mesh),
    logicalSubject: (wire) => swapSubject(wire, mesh, DEFAULT_MESH),
    bucket: (logical) => swap(logical, DEFAULT_MESH, mesh, "_"),
    stream: (logical) => swap(logical, DEFAULT_MESH.toUpperCase(), mesh.toUpperCase(), "_"),
    prefixed: (name, separator = "_") => (mesh === DEFAULT_MESH ? name : `${mesh}${separator}${name}`),
    eventsStream: `${mesh.toUpperCase()}_EVENTS`,
    eventsSubjects: `${mesh}.>`,
  };
}
