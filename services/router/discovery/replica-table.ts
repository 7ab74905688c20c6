import { ModelState, type ServedModel } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import type { ReplicaRecord } from "../../../libs/membership/index.js";

/** One replica the router may send traffic to. */
export interface ReplicaEndpoint {
  readonly replicaId: string;
  readonly grpcAddress: string;
  readonly httpAddress: string;
  /** Event loops its gRPC port runs on, 1 or more (a record without the field: 1); the router keeps a session on each. */
  readonly frontendLoops: number;
  readonly models: readonly ServedModel[];
}

/** Which versions of a model a request may go to. */
export type VersionSelector = { version: number } | { alias: string } | { any: true };

interface Entry {
  endpoint: ReplicaEndpoint;
  /** Local clock, ms, when this router last saw the record written. */
  seenAtMs: number;
  revision: number;
}

/**
 * The replicas the router knows, from the membership bucket. Pure: the
 * watcher feeds it changes and the time. A record not rewritten for
 * `staleAfterMs` (the bucket's TTL: heartbeats stopped) no longer counts,
 * because NATS does not report TTL expiry to watchers. Local receipt time,
 * not the record's heartbeat_time, so clock skew between hosts cannot
 * drop a live replica.
 */
export class ReplicaTable {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly staleAfterMs: number) {}

  /** A put (record) or a delete (undefined) at `revision`; older revisions than held are dropped. */
  apply(key: string, record: ReplicaRecord | undefined, revision: number, nowMs: number): boolean {
    const held = this.entries.get(key);
    if (held && held.revision >= revision) return false;
    if (!record) return this.entries.delete(key);
    this.entries.set(key, {
      endpoint: { replicaId: record.replicaId || key, grpcAddress: record.grpcAddress, httpAddress: record.httpAddress, frontendLoops: Math.max(1, record.frontendLoops), models: record.models },
      seenAtMs: nowMs,
      revision,
    });
    return true;
  }

  /** Treats every record as just seen: after a NATS outage, when no beat could arrive. */
  refreshAll(nowMs: number): void {
    for (const entry of this.entries.values()) entry.seenAtMs = nowMs;
  }

  /** Drops records whose heartbeats stopped; returns their ids. */
  expire(nowMs: number): string[] {
    const gone: string[] = [];
    for (const [key, entry] of this.entries) {
      if (nowMs - entry.seenAtMs > this.staleAfterMs) {
        this.entries.delete(key);
        gone.push(entry.endpoint.replicaId);
      }
    }
    return gone;
  }

  all(): ReplicaEndpoint[] {
    return [...this.entries.values()].map((e) => e.endpoint);
  }

  /** Replicas with the model READY in a version the selector accepts. */
  serving(model: string, selector: VersionSelector): ReplicaEndpoint[] {
    return this.all().filter((endpoint) => endpoint.models.some((served) => served.model === model && served.state === ModelState.READY && accepts(served, selector)));
  }

  knows(model: string): boolean {
    return this.all().some((endpoint) => endpoint.models.some((served) => served.model === model));
  }

  /** Every model this table has a READY replica of, with its versions. */
  readyVersions(model: string): number[] {
    const versions = new Set<number>();
    for (const endpoint of this.all()) {
      for (const served of endpoint.models) if (served.model === model && served.state === ModelState.READY) versions.add(served.version);
    }
    return [...versions].sort((a, b) => a - b);
  }
}

function accepts(served: ServedModel, selector: VersionSelector): boolean {
  if ("version" in selector) return served.version === selector.version;
  if ("alias" in selector) return served.aliases.includes(selector.alias);
  return true;
}
