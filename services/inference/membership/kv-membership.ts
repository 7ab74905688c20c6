import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { ReplicaRecord } from "../../../libs/gen/tessera/events/v1/inference_events_pb.js";
import { encodeReplicaRecord, HEARTBEAT_MS } from "../../../libs/membership/index.js";
import type { Logger } from "../../../libs/log/index.js";
import type { KvStore } from "../../../libs/store/index.js";
import type { MembershipPublisher } from "./membership-publisher.js";

export interface KvMembershipOptions {
  /** The tessera_replicas bucket, opened with a TTL (~3 heartbeats). */
  readonly kv: KvStore;
  readonly replicaId: string;
  readonly heartbeatMs?: number;
  readonly logger: Logger;
}

/**
 * Membership in a KV bucket: key = replica id, value = ReplicaRecord. Written
 * at start, on every change and on every heartbeat (which also refreshes the
 * TTL); deleted on graceful shutdown. Writes never overlap: a change during a
 * write is written right after it. A failed write is logged and the next
 * beat tries again: membership never takes the replica down.
 */
export function kvMembership(options: KvMembershipOptions): MembershipPublisher {
  const { kv, replicaId, logger } = options;
  let snapshot: (() => ReplicaRecord) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  let again = false;
  let stopped = false;

  const write = (): void => {
    if (stopped || !snapshot) return;
    if (writing) {
      again = true;
      return;
    }
    const record = snapshot();
    record.heartbeatTime = timestampNow();
    writing = kv
      .put(replicaId, encodeReplicaRecord(record))
      .then(
        () => undefined,
        (error: unknown) => logger.warn("membership: could not write this replica's record; retrying at the next heartbeat", { error }),
      )
      .finally(() => {
        writing = undefined;
        if (again) {
          again = false;
          write();
        }
      });
  };

  return {
    async start(read) {
      snapshot = read;
      write();
      await writing;
      timer = setInterval(write, options.heartbeatMs ?? HEARTBEAT_MS);
      timer.unref();
    },
    changed: write,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      await writing;
      try {
        await kv.delete(replicaId);
      } catch (error) {
        logger.warn("membership: could not withdraw this replica's record; it expires with the bucket's TTL", { error });
      }
    },
  };
}
