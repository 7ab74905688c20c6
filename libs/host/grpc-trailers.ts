import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { decodeGrpcMessage, encodeGrpcMessage } from "./grpc-message.js";
import { decodeRpcStatus, encodeRpcStatus, type RpcStatus } from "./rpc-status.js";

// Our own gRPC trailer code: the helpers @connectrpc/connect/protocol-grpc
// exports for its transports are marked "@private, does not follow semantic
// versioning", so a Connect upgrade could change or drop them under us.

export const GRPC_STATUS = "grpc-status";
export const GRPC_MESSAGE = "grpc-message";
export const GRPC_STATUS_DETAILS_BIN = "grpc-status-details-bin";

/** Headers a protocol sets itself; an error's metadata never overrides them (the list connect-go and connect-es keep). */
const PROTOCOL_HEADERS = new Set([
  "content-type", "content-length", "content-encoding", "host", "user-agent", "trailer", "date",
  "accept-encoding", "connect-content-encoding", "connect-accept-encoding", "connect-timeout-ms", "connect-protocol-version",
  "grpc-encoding", "grpc-accept-encoding", "grpc-timeout", GRPC_STATUS, GRPC_MESSAGE, GRPC_STATUS_DETAILS_BIN,
]);

/**
 * Writes `error` into `target` as gRPC trailers: its metadata (protocol
 * headers excepted), `grpc-status`, `grpc-message` percent-encoded, and,
 * when it has details, `grpc-status-details-bin` (a google.rpc.Status,
 * base64 as Headers carry binary values). Returns `target`.
 */
export function setErrorTrailers(target: Headers, error: ConnectError): Headers {
  error.metadata.forEach((value, key) => {
    if (!PROTOCOL_HEADERS.has(key)) target.append(key, value);
  });
  target.set(GRPC_STATUS, String(error.code));
  target.set(GRPC_MESSAGE, encodeGrpcMessage(error.rawMessage));
  if (error.details.length > 0) {
    const status: RpcStatus = {
      code: error.code,
      message: error.rawMessage,
      details: error.details.map((detail) =>
        "desc" in detail
          ? { typeUrl: `type.googleapis.com/${detail.desc.typeName}`, value: toBinary(detail.desc, create(detail.desc, detail.value)) }
          : { typeUrl: `type.googleapis.com/${detail.type}`, value: detail.value },
      ),
    };
    target.set(GRPC_STATUS_DETAILS_BIN, Buffer.from(encodeRpcStatus(status)).toString("base64"));
  }
  return target;
}

/**
 * The error that trailers (or a trailers-only response's headers) report,
 * or undefined for status 0 or no status at all. `grpc-status-details-bin`
 * wins when it decodes (it carries the details); otherwise `grpc-status`
 * and `grpc-message`. The headers become the error's metadata.
 */
export function errorFromTrailers(headers: Headers): ConnectError | undefined {
  const bin = headers.get(GRPC_STATUS_DETAILS_BIN);
  if (bin !== null) {
    const status = decodeStatusHeader(bin);
    if (status?.code === 0) return undefined;
    if (status && status.code in Code) {
      const error = new ConnectError(status.message, status.code as Code, headers);
      error.details = status.details.map((any) => ({ type: any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1), value: any.value }));
      return error;
    }
  }
  const grpcStatus = headers.get(GRPC_STATUS);
  if (grpcStatus === null || grpcStatus === "0") return undefined;
  const code = /^\d{1,2}$/.test(grpcStatus) ? Number(grpcStatus) : NaN;
  if (!(code in Code) || code === 0) return new ConnectError(`invalid grpc-status: ${grpcStatus}`, Code.Internal, headers);
  return new ConnectError(decodeGrpcMessage(headers.get(GRPC_MESSAGE) ?? ""), code as Code, headers);
}

function decodeStatusHeader(value: string): RpcStatus | undefined {
  try {
    return decodeRpcStatus(Buffer.from(value, "base64"));
  } catch {
    return undefined; // not a google.rpc.Status: fall back to grpc-status / grpc-message
  }
}
