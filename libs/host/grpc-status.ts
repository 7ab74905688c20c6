import { Metadata, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";
import { errorFromTrailers, GRPC_STATUS_DETAILS_BIN, setErrorTrailers } from "./grpc-trailers.js";

/**
 * The status a gRPC server sends for `error`, as connect-node's gRPC
 * handler would: the handler's trailers, the error's metadata, and its
 * details as `grpc-status-details-bin` (a google.rpc.Status), so both of a
 * service's ports answer one error the same way. Throws when a value is
 * one gRPC metadata cannot carry (non-ASCII text): see safeStatus.
 */
export function connectErrorToStatus(error: ConnectError, trailer?: Headers): Partial<StatusObject> {
  // grpc-js writes grpc-status and grpc-message itself (from code and details); the rest goes as metadata.
  const headers = setErrorTrailers(new Headers(trailer), error);
  const metadata = headersToMetadata(headers);
  const details = headers.get(GRPC_STATUS_DETAILS_BIN);
  if (details !== null) metadata.set(GRPC_STATUS_DETAILS_BIN, Buffer.from(details, "base64"));
  return { code: error.code as number, details: error.rawMessage, metadata };
}

/**
 * connectErrorToStatus, or, when the handler set metadata gRPC cannot
 * carry, INTERNAL naming the problem: a call must still be answered.
 */
export function safeStatus(error: ConnectError, trailer?: Headers): Partial<StatusObject> {
  try {
    return connectErrorToStatus(error, trailer);
  } catch (reason) {
    return { code: Code.Internal as number, details: unsendableMetadata(reason).rawMessage, metadata: new Metadata() };
  }
}

/** The error for response metadata grpc-js refused (it accepts printable ASCII only in text values). */
export function unsendableMetadata(reason: unknown): ConnectError {
  if (reason instanceof ConnectError && reason.code === Code.Internal) return reason;
  const why = reason instanceof Error ? reason.message : String(reason);
  return new ConnectError(`the handler set response metadata gRPC cannot carry (text values must be printable ASCII; use a -bin key for bytes): ${why}`, Code.Internal, undefined, undefined, reason);
}

/**
 * The ConnectError for a failed grpc-js call: code and message, the
 * response headers and trailers as its metadata, and the details from
 * `grpc-status-details-bin` when the server sent them.
 */
export function serviceErrorToConnectError(error: Partial<ServiceError>, responseHeader?: Headers): ConnectError {
  const metadata = new Headers(responseHeader);
  if (error.metadata) metadataToHeaders(error.metadata).forEach((value, key) => metadata.append(key, value));
  if (metadata.has(GRPC_STATUS_DETAILS_BIN)) {
    const withDetails = errorFromTrailers(metadata);
    if (withDetails) {
      const withCause = new ConnectError(withDetails.rawMessage, withDetails.code, metadata, undefined, error);
      withCause.details = withDetails.details;
      return withCause;
    }
  }
  const code = typeof error.code === "number" && error.code in Code ? (error.code as unknown as Code) : Code.Unknown;
  return new ConnectError(error.details ?? error.message ?? "call failed", code, metadata, undefined, error);
}

/** Binary (-bin) metadata travels base64 in Headers, as Connect does. */
export function metadataToHeaders(metadata: Metadata): Headers {
  const headers = new Headers();
  for (const [key, values] of Object.entries(metadata.getMap())) {
    const all = metadata.get(key);
    for (const value of all.length > 0 ? all : [values]) {
      headers.append(key, typeof value === "string" ? value : Buffer.from(value).toString("base64"));
    }
  }
  return headers;
}

// Set by the transport itself; other grpc- keys (grpc-retry-pushback-ms) pass.
const RESERVED = new Set(["grpc-status", "grpc-message", "grpc-status-details-bin", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "content-type", "te"]);

/** What `new Headers()` accepts (HeadersInit, without the DOM lib). */
export type HeadersLike = ConstructorParameters<typeof Headers>[0];

export function headersToMetadata(headers: HeadersLike | undefined): Metadata {
  const metadata = new Metadata();
  if (!headers) return metadata;
  new Headers(headers).forEach((value, key) => {
    if (RESERVED.has(key)) return;
    if (key.endsWith("-bin")) metadata.add(key, Buffer.from(value, "base64"));
    else metadata.add(key, value);
  });
  return metadata;
}
