import type { IncomingMessage } from "node:http";
import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from "@grpc/grpc-js";

/** The header the router sends on every hop (services/router, docs/router.md). */
export const MESH_TOKEN_HEADER = "x-tessera-mesh-token";

// Probes and tooling stay reachable without the token.
const OPEN_PREFIXES = ["/grpc.health.v1.", "/grpc.reflection."];

/**
 * Refuses gRPC calls that do not carry the shared mesh token: with it set,
 * a service answers only calls that came through the router.
 */
export function meshTokenInterceptor(token: string): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            if (OPEN_PREFIXES.some((p) => method.path.startsWith(p)) || metadata.get(MESH_TOKEN_HEADER)[0] === token) return pass(metadata);
            call.sendStatus({ code: status.UNAUTHENTICATED, details: "this service takes calls only through the router (missing or wrong x-tessera-mesh-token)", metadata: new Metadata() });
          },
        }),
    });
}

/** The HTTP side of the same check; /healthz, /readyz and /metrics stay open. */
export function hasMeshToken(request: IncomingMessage, token: string): boolean {
  return request.headers[MESH_TOKEN_HEADER] === token;
}
