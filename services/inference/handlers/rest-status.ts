import { Code, type ConnectError } from "../../../libs/errors/index.js";
import { reasonOf } from "../error-reason.js";

/**
 * The HTTP status of an error on the OIP REST routes. Clients and proxies
 * retry 429 and 503 (and honour Retry-After), so only what a retry can fix
 * gets them: a full queue (429), a version loading, unloading or being
 * reloaded, a dead session (503). What no retry fixes gets a 4xx the client
 * must act on, or 500 for the replica's own failure:
 *
 * - a body over the limit is 413, not 429: the same body is always too large;
 * - a run out of memory is 500, as Triton and KServe answer a failed run:
 *   the same batch on the same replica fails again (gRPC: RESOURCE_EXHAUSTED);
 * - FAILED_PRECONDITION (a version that failed to load for good, a model
 *   whose outputs do not keep the batch) is 400, as Connect, grpc-gateway and
 *   Triton's catch-all answer it: the request cannot succeed until someone
 *   changes the model or what is served.
 */
export function restStatusFor(error: ConnectError): number {
  switch (error.code) {
    case Code.InvalidArgument:
    case Code.OutOfRange:
    case Code.FailedPrecondition:
      return 400;
    case Code.Unauthenticated:
      return 401;
    case Code.PermissionDenied:
      return 403;
    case Code.NotFound:
      return 404;
    case Code.AlreadyExists:
    case Code.Aborted:
      return 409;
    case Code.ResourceExhausted:
      switch (reasonOf(error)) {
        case "payload-too-large":
          return 413;
        case "out-of-memory":
          return 500;
        default:
          return 429;
      }
    case Code.Canceled:
      return 499;
    case Code.Unimplemented:
      return 501;
    case Code.Unavailable:
      return 503;
    case Code.DeadlineExceeded:
      return 504;
    default:
      return 500;
  }
}
