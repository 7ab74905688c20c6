import { BinaryReader, BinaryWriter, WireType } from "@bufbuild/protobuf/wire";

/** google.rpc.Status, the message `grpc-status-details-bin` carries. */
export interface RpcStatus {
  readonly code: number;
  readonly message: string;
  /** google.protobuf.Any each: `type.googleapis.com/<full message name>` and the message's bytes. */
  readonly details: readonly { readonly typeUrl: string; readonly value: Uint8Array }[];
}

// Field numbers of google/rpc/status.proto and google/protobuf/any.proto. Written
// by hand (three fields) so that no private generated copy inside a library is needed.
const STATUS_CODE = 1;
const STATUS_MESSAGE = 2;
const STATUS_DETAILS = 3;
const ANY_TYPE_URL = 1;
const ANY_VALUE = 2;

/** The protobuf bytes of `status`, proto3 style: fields at their default are left out. */
export function encodeRpcStatus(status: RpcStatus): Uint8Array {
  const writer = new BinaryWriter();
  if (status.code !== 0) writer.tag(STATUS_CODE, WireType.Varint).int32(status.code);
  if (status.message !== "") writer.tag(STATUS_MESSAGE, WireType.LengthDelimited).string(status.message);
  for (const detail of status.details) {
    writer.tag(STATUS_DETAILS, WireType.LengthDelimited).fork();
    if (detail.typeUrl !== "") writer.tag(ANY_TYPE_URL, WireType.LengthDelimited).string(detail.typeUrl);
    if (detail.value.length > 0) writer.tag(ANY_VALUE, WireType.LengthDelimited).bytes(detail.value);
    writer.join();
  }
  return writer.finish();
}

/** The google.rpc.Status in `bytes`; throws on bytes that are not one (truncated, wrong wire types). Unknown fields are skipped. */
export function decodeRpcStatus(bytes: Uint8Array): RpcStatus {
  const reader = new BinaryReader(bytes);
  let code = 0;
  let message = "";
  const details: { typeUrl: string; value: Uint8Array }[] = [];
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === STATUS_CODE && wireType === WireType.Varint) code = reader.int32();
    else if (field === STATUS_MESSAGE && wireType === WireType.LengthDelimited) message = reader.string();
    else if (field === STATUS_DETAILS && wireType === WireType.LengthDelimited) details.push(decodeAny(reader.bytes()));
    else reader.skip(wireType, field);
  }
  return { code, message, details };
}

function decodeAny(bytes: Uint8Array): { typeUrl: string; value: Uint8Array } {
  const reader = new BinaryReader(bytes);
  let typeUrl = "";
  let value: Uint8Array = new Uint8Array(0);
  while (reader.pos < reader.len) {
    const [field, wireType] = reader.tag();
    if (field === ANY_TYPE_URL && wireType === WireType.LengthDelimited) typeUrl = reader.string();
    else if (field === ANY_VALUE && wireType === WireType.LengthDelimited) value = reader.bytes();
    else reader.skip(wireType, field);
  }
  return { typeUrl, value };
}
