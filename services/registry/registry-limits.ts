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
}

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = {
  maxConcurrentUploads: 8,
  uploadIdleTimeoutMs: 60_000,
  maxTags: 64,
  maxAliases: 64,
};
