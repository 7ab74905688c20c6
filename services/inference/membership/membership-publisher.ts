import type { ReplicaRecord } from "../../../libs/gen/tessera/events/v1/inference_events_pb.js";

/**
 * Makes this replica known to the router (DESIGN.md: membership through NATS
 * KV with TTL heartbeats). The replica calls changed() after every state
 * change (a version loaded, switched, unloaded) and stop() on graceful
 * shutdown, before it drains, so traffic moves elsewhere first.
 */
export interface MembershipPublisher {
  /** Starts publishing; `snapshot` is read each time a record is written. */
  start(snapshot: () => ReplicaRecord): Promise<void>;
  /** The replica's state changed: publish soon. */
  changed(): void;
  /** Stops heartbeats and withdraws the record. */
  stop(): Promise<void>;
}

/** For a replica that is not a member of anything (tests, a lone process). */
export const noMembership: MembershipPublisher = {
  start: async () => {},
  changed: () => {},
  stop: async () => {},
};
