import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Metadata, ServerInterceptingCall, status, type ServerInterceptor } from "@grpc/grpc-js";

/** The header the router and the mesh's clients send on every call (docs/router.md, Auth). */
export const MESH_TOKEN_HEADER = "x-tessera-mesh-token";

// Probes and tooling stay reachable without the token.
const OPEN_PREFIXES = ["/grpc.health.v1.", "/grpc.reflection."];

/**
 * A service's mesh token and which of its calls need it. `guards` gets the
 * call's path ("/pkg.Service/Method" on both ports, Connect's too, or a
 * REST path); default every call: a replica answers only what came through
 * the router. The registry, feature and monitoring guard writes only.
 */
export interface MeshTokenPolicy {
  token: string;
  guards?: (path: string) => boolean;
  /** Who is expected to hold it, for the refusal's message ("through the router", ...). */
  expectedFrom?: string;
}

/** The policy a bare token stands for: every call guarded, the token held by whatever calls through the router (a replica). */
export function everyCallPolicy(token: string): MeshTokenPolicy {
  return { token, expectedFrom: "through the router" };
}

// Reads by name: a method whose name starts with one of these changes nothing.
const READ_METHOD = /\/(Get|List|Watch|Describe|Download)[A-Za-z0-9]*$/;

/** `guards` for a service that lets anyone read and only mesh members write. */
export function writesOnly(path: string): boolean {
  return !READ_METHOD.test(path);
}

export type MeshTokenVerdict = { ok: true } | { ok: false; code: status.UNAUTHENTICATED | status.PERMISSION_DENIED; message: string };

/** Whether a call to `path` presenting `presented` may go on. */
export function checkMeshToken(policy: MeshTokenPolicy, path: string, presented: string | undefined): MeshTokenVerdict {
  if (OPEN_PREFIXES.some((p) => path.startsWith(p)) || !(policy.guards ?? (() => true))(path)) return { ok: true };
  const from = policy.expectedFrom ?? "from inside the mesh";
  if (presented === undefined || presented === "") {
    return { ok: false, code: status.UNAUTHENTICATED, message: `${path} takes calls only ${from}: send the mesh's token as ${MESH_TOKEN_HEADER} (set TESSERA_MESH_TOKEN to the value the services run with)` };
  }
  if (!sameToken(presented, policy.token)) {
    return { ok: false, code: status.PERMISSION_DENIED, message: `${path} refused the ${MESH_TOKEN_HEADER} sent: it is not this mesh's token (check TESSERA_MESH_TOKEN matches the services')` };
  }
  return { ok: true };
}

/** Refuses gRPC calls that need the mesh token and do not carry it. */
export function meshTokenInterceptor(policy: MeshTokenPolicy): ServerInterceptor {
  return (method, call) =>
    new ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, pass) => {
            const presented = metadata.get(MESH_TOKEN_HEADER)[0];
            const verdict = checkMeshToken(policy, method.path, typeof presented === "string" ? presented : undefined);
            if (verdict.ok) return pass(metadata);
            call.sendStatus({ code: verdict.code, details: verdict.message, metadata: new Metadata() });
          },
        }),
    });
}

/** The HTTP side of the same check, by request path; /healthz, /readyz and /metrics are answered before it. */
export function checkMeshTokenHttp(policy: MeshTokenPolicy, request: IncomingMessage): MeshTokenVerdict {
  const header = request.headers[MESH_TOKEN_HEADER];
  return checkMeshToken(policy, (request.url ?? "/").split("?")[0]!, typeof header === "string" ? header : undefined);
}

// Digests first: timingSafeEqual needs equal lengths, and the length must not leak either.
function sameToken(a: string, b: string): boolean {
  return timingSafeEqual(createHash("sha256").update(a).digest(), createHash("sha256").update(b).digest());
}
