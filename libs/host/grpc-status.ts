import { Metadata, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { Code, ConnectError } from "@connectrpc/connect";

/** Connect's Code enum uses the gRPC status numbers, so codes map 1:1. */
export function connectErrorToStatus(error: ConnectError): Partial<StatusObject> {
  return {
    code: error.code as number,
    details: error.rawMessage,
    metadata: headersToMetadata(error.metadata),
  };
}

export function serviceErrorToConnectError(error: Partial<ServiceError>): ConnectError {
  const code = typeof error.code === "number" && error.code in Code ? (error.code as unknown as Code) : Code.Unknown;
  const metadata = error.metadata ? metadataToHeaders(error.metadata) : undefined;
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
