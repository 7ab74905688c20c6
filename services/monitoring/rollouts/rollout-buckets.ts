/**
 * Rollout states, one key per model. A logical name: the mesh makes it
 * `<mesh>_rollouts`. Before meshes it was `rollouts` (LEGACY_ROLLOUTS_BUCKET).
 */
export const ROLLOUTS_BUCKET = "tessera_rollouts";
/** Who drives each model's rollout (a TTL bucket); logical, `<mesh>_rollout_leases`. Before meshes, `rollout-leases`. */
export const ROLLOUT_LEASES_BUCKET = "tessera_rollout_leases";
/** Where the default mesh kept rollout states before meshes; adopted at start (legacy-rollouts.ts). */
export const LEGACY_ROLLOUTS_BUCKET = "rollouts";
