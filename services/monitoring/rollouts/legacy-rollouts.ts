import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { Code, ConnectError } from "../../../libs/errors/index.js";
import type { Logger } from "../../../libs/log/index.js";
import { openNatsKv, type KvStore } from "../../../libs/store/index.js";
import { LEGACY_ROLLOUTS_BUCKET } from "./rollout-buckets.js";

/**
 * Before meshes, rollout states lived in the bucket `rollouts`, one for
 * every mesh on a NATS. The default mesh now keeps them in `tessera_rollouts`;
 * so that an upgraded deployment keeps its rollouts, monitoring in the
 * default mesh copies what the old bucket holds into the new one at start.
 * Leases are not copied: they expire within seconds and are taken anew.
 *
 * Copies every rollout of the legacy bucket that `states` lacks (a rollout
 * already in the new bucket is newer and wins), and says how many. Nothing
 * is created when the legacy bucket does not exist. Returns the count.
 */
export async function adoptLegacyRollouts(nc: NatsConnection, states: KvStore, logger: Logger, legacyBucket = LEGACY_ROLLOUTS_BUCKET): Promise<number> {
  const jsm = await jetstreamManager(nc);
  const exists = await jsm.streams.info(`KV_${legacyBucket}`).then(
    () => true,
    () => false,
  );
  if (!exists) return 0;
  const legacy = await openNatsKv(nc, { bucket: legacyBucket, logger });
  let copied = 0;
  try {
    for (const key of await legacy.keys()) {
      const entry = await legacy.get(key);
      if (!entry) continue;
      try {
        await states.create(key, entry.value);
        copied++;
      } catch (error) {
        if (!(error instanceof ConnectError && error.code === Code.AlreadyExists)) throw error;
      }
    }
  } finally {
    await legacy.close();
  }
  if (copied > 0) {
    logger.warn(`copied ${copied} rollout(s) from the pre-mesh bucket "${legacyBucket}"; once no older monitoring runs, delete it (nats kv del ${legacyBucket})`, { copied });
  }
  return copied;
}
