/**
 * The KV bucket inference replicas list themselves in and the router
 * watches. One constant, so a mesh-name namespace can replace it in one place.
 */
export const REPLICAS_BUCKET = "tessera_replicas";

/**
 * Replicas heartbeat every 5 s; the bucket keeps an entry about three beats
 * (MEMBERSHIP_TTL_MS), so a replica that dies silently disappears within
 * 15 s while one late beat on a busy machine does not drop a live one.
 */
export const HEARTBEAT_MS = 5_000;
export const MEMBERSHIP_TTL_MS = 3 * HEARTBEAT_MS;
