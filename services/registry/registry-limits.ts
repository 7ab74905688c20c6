/** What the registry accepts at most, so a record always fits in one KV value and a busy registry stays up. */
export interface RegistryLimits {
  /**
   * Uploads in progress at once; one more is RESOURCE_EXHAUSTED. Default 8:
   * each holds about one chunk in memory, but all share the disk and NATS.
   */
  maxConcurrentUploads: number;
  /**
   * An upload that sends nothing for this long is ended (DEADLINE_EXCEEDED)
   * and its partial artifact removed. Default 60 s: a client between two
   * 1 MiB chunks is never that slow, a stalled one frees its slot.
   */
  uploadIdleTimeoutMs: number;
  /**
   * Tags on a model or a version. Default 64: plenty for labels, and with
   * values up to 1 KiB they stay far below the 1 MB record limit.
   */
  maxTags: number;
  /** Aliases on a model. Default 64 (production, staging, canary-…). */
  maxAliases: number;
  /**
   * External data files of one version. Default 1024: exporters that write
   * one file per tensor stay under it for models of a few hundred layers,
   * and 1024 entries (path, sha256, size) keep the version record far below
   * the 1 MB a KV value holds.
   */
  maxExternalDataFiles: number;
  /**
   * Bytes of one version, the model file and its external data together.
   * Default 64 GiB: a 30-billion-parameter model in 16-bit floats. The model
   * file alone is capped by maxArtifactBytes (ONNX's 2 GiB protobuf limit).
   */
  maxVersionBytes: number;
}

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = {
  maxConcurrentUploads: 8,
  uploadIdleTimeoutMs: 60_000,
  maxTags: 64,
  maxAliases: 64,
  maxExternalDataFiles: 1024,
  maxVersionBytes: 64 * 1024 * 1024 * 1024,
};
