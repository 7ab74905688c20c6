/**
 * Default drain grace period, ms (TESSERA_DRAIN_GRACE_MS): how long
 * unloading a version waits for its requests before cutting them. With the
 * host's own 10 s for in-flight calls, a SIGTERM is done within 20 s, inside
 * Kubernetes' default 30 s termination grace.
 */
export const DEFAULT_DRAIN_GRACE_MS = 10_000;
