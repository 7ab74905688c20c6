import type { Logger } from "../../../libs/log/index.js";
import { decodeReplicaRecord } from "../../../libs/membership/index.js";
import type { KvStore, StopWatch } from "../../../libs/store/index.js";
import type { ReplicaTable } from "./replica-table.js";

export interface MembershipWatchOptions {
  kv: KvStore;
  table: ReplicaTable;
  logger: Logger;
  /** Whether NATS is reachable now; while it is not, nothing expires (no beat could arrive). */
  connected: () => boolean;
  /** How often stale records are swept. Default 1 s. */
  sweepMs?: number;
  /** After every change the table saw (membership moved). */
  onChange?: () => void;
}

export interface MembershipWatch {
  stop(): Promise<void>;
  /** NATS came back: give every replica a full TTL to beat again. */
  reconnected(): void;
}

/**
 * Follows the replicas bucket by watch (not polling): puts and deletes
 * update the table as they happen; a local sweep drops records whose
 * heartbeats stopped, since NATS does not report TTL expiry to watchers.
 * A dead replica thus stops receiving traffic within TTL + one sweep.
 */
export async function watchMembership(options: MembershipWatchOptions): Promise<MembershipWatch> {
  const { kv, table, logger } = options;
  const apply = (key: string, value: Uint8Array | undefined, revision: number) => {
    let record;
    try {
      record = value ? decodeReplicaRecord(value) : undefined;
    } catch (error) {
      logger.warn("membership: a replica record could not be decoded; ignored", { key, error });
      return;
    }
    if (table.apply(key, record, revision, Date.now())) options.onChange?.();
  };
  const stopWatch: StopWatch = await kv.watch("", (change) => apply(change.key, change.operation === "put" ? change.value : undefined, change.revision));
  for (const key of await kv.keys()) {
    const entry = await kv.get(key);
    if (entry) apply(key, entry.value, entry.revision);
  }
  const sweep = setInterval(() => {
    if (!options.connected()) return;
    const gone = table.expire(Date.now());
    if (gone.length > 0) {
      logger.warn("membership: replicas stopped heartbeating; no more traffic to them", { replicas: gone });
      options.onChange?.();
    }
  }, options.sweepMs ?? 1_000);
  sweep.unref();
  return {
    async stop() {
      clearInterval(sweep);
      await stopWatch();
    },
    reconnected: () => table.refreshAll(Date.now()),
  };
}
