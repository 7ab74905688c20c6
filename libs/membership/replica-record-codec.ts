import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { ReplicaRecordSchema, type ReplicaRecord } from "../gen/tessera/events/v1/inference_events_pb.js";

export { ReplicaRecordSchema, type ReplicaRecord };

/** A membership record as stored in the replicas bucket. */
export function encodeReplicaRecord(record: ReplicaRecord): Uint8Array {
  return toBinary(ReplicaRecordSchema, record);
}

export function decodeReplicaRecord(bytes: Uint8Array): ReplicaRecord {
  return fromBinary(ReplicaRecordSchema, bytes);
}
