import { Code, ConnectError } from "@connectrpc/connect";

export { Code, ConnectError };

/**
 * Tessera's one error type is Connect's `ConnectError`: it carries a gRPC
 * status code, a message for a person, a cause and details, and both our
 * transports (grpc-js through libs/host, and connect-node) understand it.
 * These helpers keep call sites short and the codes consistent.
 */
export function invalidArgument(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.InvalidArgument, undefined, undefined, cause);
}

export function notFound(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.NotFound, undefined, undefined, cause);
}

export function alreadyExists(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.AlreadyExists, undefined, undefined, cause);
}

export function failedPrecondition(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.FailedPrecondition, undefined, undefined, cause);
}

export function resourceExhausted(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.ResourceExhausted, undefined, undefined, cause);
}

export function unavailable(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.Unavailable, undefined, undefined, cause);
}

export function deadlineExceeded(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.DeadlineExceeded, undefined, undefined, cause);
}

export function aborted(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.Aborted, undefined, undefined, cause);
}

export function cancelled(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.Canceled, undefined, undefined, cause);
}

export function internal(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.Internal, undefined, undefined, cause);
}

/** Turns anything caught into a ConnectError (Internal when not one already). */
export function toConnectError(reason: unknown): ConnectError {
  return ConnectError.from(reason, Code.Internal);
}

export function dataLoss(message: string, cause?: unknown): ConnectError {
  return new ConnectError(message, Code.DataLoss, undefined, undefined, cause);
}
