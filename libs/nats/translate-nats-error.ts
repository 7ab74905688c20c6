import { JetStreamApiError, JetStreamError } from "@nats-io/jetstream";
import {
  AuthorizationError,
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  InvalidArgumentError,
  InvalidSubjectError,
  NoRespondersError,
  PermissionViolationError,
  RequestError,
  TimeoutError,
  UserAuthenticationExpiredError,
} from "@nats-io/transport-node";
import { Code, ConnectError } from "../errors/index.js";

/** JetStream API error codes we give a meaning to (nats-server's errors.json). */
const jsCodes = {
  consumerNotFound: 10014,
  insufficientResources: 10023,
  memoryResourcesExceeded: 10028,
  noMessageFound: 10037,
  notEnabledForAccount: 10039,
  storageResourcesExceeded: 10047,
  streamNotFound: 10059,
  wrongLastSequence: 10071,
  jetStreamNotEnabled: 10076,
  messageTooLarge: 10054,
  storeFailed: 10077,
  wrongLastSequenceUnknown: 10164,
} as const;

/**
 * Turns an error from nats.js into a ConnectError at a boundary, so clients
 * see a code that means what happened (never UNKNOWN for a failure we
 * understood). `what` names the operation for a person, e.g.
 * `reading key "models.iris" from bucket "registry"`.
 */
export function translateNatsError(err: unknown, what: string): ConnectError {
  if (err instanceof ConnectError) return err;
  const make = (code: Code, message: string) => new ConnectError(`${what}: ${message}`, code, undefined, undefined, err);
  const reason = err instanceof Error ? err.message : String(err);

  if (err instanceof JetStreamApiError) {
    switch (err.code) {
      case jsCodes.wrongLastSequence:
      case jsCodes.wrongLastSequenceUnknown:
        return make(Code.Aborted, `changed concurrently, retry (${reason})`);
      case jsCodes.streamNotFound:
        return make(Code.FailedPrecondition, `JetStream stream not found (${reason}): it is created at start-up; restart the service to create it again`);
      case jsCodes.consumerNotFound:
        return make(Code.Unavailable, `JetStream consumer went away (${reason}); retry`);
      case jsCodes.noMessageFound:
        return make(Code.NotFound, reason);
      case jsCodes.notEnabledForAccount:
      case jsCodes.jetStreamNotEnabled:
        return make(Code.FailedPrecondition, `JetStream is not enabled (${reason}): start NATS with \`nats-server -js\``);
      case jsCodes.insufficientResources:
      case jsCodes.memoryResourcesExceeded:
      case jsCodes.storageResourcesExceeded:
      case jsCodes.storeFailed:
        return make(Code.ResourceExhausted, `NATS JetStream could not store it (${reason}): free disk or raise the stream's or server's limits`);
      case jsCodes.messageTooLarge:
        return make(Code.InvalidArgument, `too large for NATS (${reason})`);
      default:
        break;
    }
    if (err.status === 503) return make(Code.Unavailable, `JetStream is unavailable (${reason}); retry`);
    if (err.status === 404) return make(Code.NotFound, reason);
    return make(Code.Internal, `JetStream refused the request (${reason})`);
  }
  if (err instanceof TimeoutError) {
    return make(Code.Unavailable, "NATS did not answer in time; is it running and reachable? retry");
  }
  if (err instanceof NoRespondersError || (err instanceof RequestError && err.isNoResponders())) {
    return make(
      Code.Unavailable,
      "nobody answered on NATS (no responders): if this is JetStream, start the server with `nats-server -js`; retry",
    );
  }
  if (err instanceof ClosedConnectionError || err instanceof DrainingConnectionError) {
    return make(Code.Unavailable, "the NATS connection is closed (the service is shutting down)");
  }
  if (err instanceof ConnectionError) {
    return make(Code.Unavailable, `lost the connection to NATS (${reason}); retry`);
  }
  if (err instanceof PermissionViolationError) {
    return make(Code.PermissionDenied, `NATS refused it (${reason}): check this service's NATS permissions`);
  }
  if (err instanceof AuthorizationError || err instanceof UserAuthenticationExpiredError) {
    return make(Code.Unauthenticated, `NATS did not accept our credentials (${reason})`);
  }
  if (err instanceof InvalidSubjectError) {
    return make(Code.InvalidArgument, reason);
  }
  if (err instanceof InvalidArgumentError) {
    if (/max_payload/i.test(reason)) {
      return make(Code.InvalidArgument, `too large for one NATS message (${reason}): keep values small, put large data in the object store`);
    }
    return make(Code.InvalidArgument, reason);
  }
  if (err instanceof JetStreamError) {
    return make(Code.Unavailable, `JetStream failed (${reason}); retry`);
  }
  return make(Code.Internal, reason);
}
