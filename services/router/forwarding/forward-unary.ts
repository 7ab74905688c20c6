import { createHash, randomUUID } from "node:crypto";
import { create, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Metadata, status } from "@grpc/grpc-js";
import { context as otelContext, trace } from "@opentelemetry/api";
import { LRUCache } from "lru-cache";
import { OutputDifferenceSchema, ShadowComparisonSchema } from "../../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { PredictResponseSchema } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import type { Route } from "../../../libs/gen/tessera/router/v1/router_pb.js";
import type { Logger } from "../../../libs/log/index.js";
import { ROUTE_REASON_HEADER, ROUTE_REVISION_HEADER, type PredictionLogPublisher } from "../../../libs/prediction-log/index.js";
import { endRpcSpan, startRpcSpan, traceHeaders } from "../../../libs/telemetry/index.js";
import type { Authorizer } from "../auth/authorizer.js";
import type { RouterMetrics } from "../router-metrics.js";
import { attemptSignal } from "./attempt-signal.js";
import { callH2 } from "./call-h2.js";
import { callRaw, type RawResponse } from "./call-raw.js";
import type { H2Sessions } from "./h2-sessions.js";
import type { Attempt, AttemptRoute, Dispatched, Dispatcher } from "./dispatcher.js";
import type { ForwardedMethod } from "./method-specs.js";
import { compareOutputs, differenceOf } from "./output-difference.js";
import { peekFields, versionSuffix } from "./peek-fields.js";
import type { UpstreamChannels } from "./upstream-channels.js";
import { UpstreamError } from "./upstream-error.js";

/** Largest replica answer taken, as the grpc-js channels' limit. */
export const UPSTREAM_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

/** Response metadata the router adds. */
export const HEADER_VERSION = "x-tessera-version";
export const HEADER_DECISION = "x-tessera-route";
export const HEADER_REPLICA = "x-tessera-replica";
export const HEADER_DEGRADED = "x-tessera-degraded";
/** Request metadata the router reads. */
export const HEADER_PIN = "x-tessera-version";
export const DEFAULT_STICKY_HEADER = "x-tessera-key";

// Hop-by-hop, transport-owned or credential headers: never forwarded.
const DROPPED = new Set(["authorization", "x-api-key", "x-tessera-mesh-token", "content-type", "te", "user-agent", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding", "host", "connection", "content-length", "accept-encoding"]);

export interface ForwarderOptions {
  authorizer: Authorizer;
  dispatcher: Dispatcher;
  channels: UpstreamChannels;
  /** When set, calls go out on these node:http2 sessions (callH2) instead of the grpc-js channels; either keeps one per front-end loop of a replica. */
  h2?: H2Sessions;
  metrics: RouterMetrics;
  logger: Logger;
  /** Deadline for a call that brings none. Default 30 s. */
  defaultTimeoutMs?: number;
  /** Sent to replicas so they can refuse calls that bypassed the router. */
  meshToken?: string;
  /** Last good responses kept for the degradation chain. Default 10,000. */
  cacheEntries?: number;
  /** Shadow copies in flight at most; more are skipped, never queued. Default 32. */
  maxShadowsInFlight?: number;
  /** Where each shadow's comparison with the primary goes (a PredictionLogPublisher: bounded, off the request path). */
  shadowComparisons?: Pick<PredictionLogPublisher, "offerShadowComparison">;
}

export interface ForwardInput {
  body: Buffer;
  /** The caller's metadata. */
  metadata: Metadata;
  /** Absolute ms, or undefined for none. */
  deadlineMs: number | undefined;
  signal: AbortSignal;
}

/**
 * Forwards one unary call as bytes: peeks the model and version, lets the
 * dispatcher choose and try replicas, then runs the degradation chain
 * (cached last good answer, the route's default) when every version
 * failed. Mirrors shadow copies after the caller has its answer.
 */
export class Forwarder {
  private readonly cache: LRUCache<string, Buffer>;
  private shadowsInFlight = 0;

  constructor(private readonly options: ForwarderOptions) {
    this.cache = new LRUCache({ max: options.cacheEntries ?? 10_000 });
  }

  async forward(method: ForwardedMethod, input: ForwardInput): Promise<RawResponse> {
    const started = performance.now();
    const { metrics } = this.options;
    let peeked;
    try {
      peeked = peekFields(input.body, method.versionKind);
    } catch (error) {
      throw new UpstreamError(status.INVALID_ARGUMENT, `request is not a valid protobuf message: ${(error as Error).message}`);
    }
    if (peeked.model === "") throw new UpstreamError(status.INVALID_ARGUMENT, "the request names no model (field 1 is empty)");
    await this.options.authorizer.check(input.metadata, method.path, peeked.model);
    const version = parseVersion(peeked.version, "the request's version");
    const pinned = method.routed ? parseVersion(header(input.metadata, HEADER_PIN), `the ${HEADER_PIN} header`) : undefined;
    const deadlineMs = Math.min(input.deadlineMs ?? Infinity, Date.now() + (this.options.defaultTimeoutMs ?? 30_000));
    const outgoing = this.outgoingMetadata(input.metadata);
    const callerHasDeadline = input.deadlineMs !== undefined;
    const attempt = (body: Buffer, caller: AbortSignal): Attempt<RawResponse> => (replica, redirect, deadline, route) => {
      // A late cancel lets the hop run to its own deadline: the replica's answer, not the caller's cancel, says whether it timed out.
      const upstream = attemptSignal(caller, { startMs: Date.now(), deadlineMs: deadline, callerHasDeadline });
      const bytes = redirect === undefined ? body : Buffer.concat([body, versionSuffix(redirect, method.versionKind)]);
      const { h2 } = this.options;
      return tracedAttempt(method.path, replica.grpcAddress, withRoute(outgoing, route), (metadata) =>
        h2
          ? h2.call(replica.grpcAddress, replica.frontendLoops, (session) => callH2(session, method.path, bytes, metadata, deadline, upstream.signal, UPSTREAM_MAX_RESPONSE_BYTES))
          : this.options.channels.call(replica.grpcAddress, replica.frontendLoops, (channel) => callRaw(channel, method.path, bytes, metadata, deadline, upstream.signal)),
      ).finally(upstream.release);
    };
    const stickyKey = (route: Route) => header(input.metadata, route.stickyHeader || DEFAULT_STICKY_HEADER);
    let label = { model: peeked.model, version: version !== undefined ? String(version) : "default" };
    let decision = "direct";
    let code = 0;
    try {
      const request = {
        model: peeked.model,
        version,
        alias: method.versionKind === "varint" && peeked.alias !== "" ? peeked.alias : undefined,
        pinnedVersion: method.routed ? pinned : undefined,
        stickyKey: method.routed ? stickyKey : undefined,
        deadlineMs,
        signal: input.signal,
      };
      if (!method.routed) request.alias = undefined;
      let dispatched: Dispatched<RawResponse>;
      try {
        dispatched = await this.options.dispatcher.dispatch(request, attempt(input.body, input.signal));
      } catch (error) {
        const degraded = this.degrade(method, peeked.model, input, error);
        if (!degraded) throw error;
        decision = "degraded";
        return degraded;
      }
      decision = dispatched.decision;
      if (dispatched.version !== undefined) label = { model: peeked.model, version: String(dispatched.version) };
      const response = dispatched.value;
      response.headers.set(HEADER_DECISION, dispatched.decision);
      response.headers.set(HEADER_REPLICA, dispatched.replicaId);
      if (dispatched.version !== undefined) response.headers.set(HEADER_VERSION, String(dispatched.version));
      if (dispatched.degraded) {
        response.headers.set(HEADER_DEGRADED, dispatched.degraded);
        metrics.degraded.inc({ model: peeked.model, kind: dispatched.degraded });
      }
      const route = dispatched.route;
      if (route?.serveCachedOnFailure && method.kind) this.cache.set(this.cacheKey(method, peeked.model, route, input), response.body);
      if (dispatched.shadowVersion !== undefined && method.kind) {
        this.mirror(method, input, attempt, deadlineMs, {
          model: peeked.model,
          shadowVersion: dispatched.shadowVersion,
          primaryVersion: dispatched.version ?? 0,
          primaryReplicaId: dispatched.replicaId,
          primaryLatencyUs: Math.round((performance.now() - started) * 1000),
          primary: response.body,
        });
      }
      return response;
    } catch (error) {
      code = error instanceof UpstreamError ? error.code : status.INTERNAL;
      throw error;
    } finally {
      metrics.requests.inc({ ...label, code: status[code] ?? String(code), decision });
      metrics.duration.observe(label, (performance.now() - started) / 1000);
    }
  }

  /** The degradation chain after every version failed: cached answer, then the route's default. */
  private degrade(method: ForwardedMethod, model: string, input: ForwardInput, error: unknown): RawResponse | undefined {
    if (!(error instanceof UpstreamError) || error.code !== status.UNAVAILABLE || !method.kind) return undefined;
    const route = this.options.dispatcher.routeOf(model);
    if (!route) return undefined;
    const mark = (kind: "cached" | "default", body: Buffer): RawResponse => {
      const headers = new Metadata();
      headers.set(HEADER_DEGRADED, kind);
      headers.set(HEADER_DECISION, "degraded");
      this.options.metrics.degraded.inc({ model, kind });
      this.options.logger.warn("answered with a degraded response", { model, kind, reason: error.details });
      return { body, headers, trailers: new Metadata() };
    };
    if (route.serveCachedOnFailure) {
      const cached = this.cache.get(this.cacheKey(method, model, route, input));
      if (cached) return mark("cached", cached);
    }
    if (method.kind === "predict" && route.defaultResponse) {
      const bytes = toBinary(PredictResponseSchema, route.defaultResponse);
      return mark("default", Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    }
    return undefined;
  }

  /** The sticky key when the caller sent one, else the request bytes' hash: the same input, the same answer. */
  private cacheKey(method: ForwardedMethod, model: string, route: Route, input: ForwardInput): string {
    const key = header(input.metadata, route.stickyHeader || DEFAULT_STICKY_HEADER);
    return `${method.path}\u0000${model}\u0000${key ?? createHash("sha1").update(input.body).digest("base64")}`;
  }

  private mirror(
    method: ForwardedMethod,
    input: ForwardInput,
    attempt: (body: Buffer, signal: AbortSignal) => Attempt<RawResponse>,
    deadlineMs: number,
    primary: { model: string; shadowVersion: number; primaryVersion: number; primaryReplicaId: string; primaryLatencyUs: number; primary: Buffer },
  ): void {
    const { metrics, shadowComparisons } = this.options;
    const { model, shadowVersion: version } = primary;
    const label = { model, version: String(version) };
    if (this.shadowsInFlight >= (this.options.maxShadowsInFlight ?? 32)) {
      metrics.shadowRequests.inc({ ...label, outcome: "skipped" });
      return;
    }
    this.shadowsInFlight++;
    // Taken now, while the caller's call is at hand; the record is built at flush time.
    const requestId = header(input.metadata, "x-request-id") ?? randomUUID();
    const traceId = trace.getActiveSpan()?.spanContext().traceId ?? traceIdOf(header(input.metadata, "traceparent"));
    const record = (fields: MessageInitShape<typeof ShadowComparisonSchema>) => () =>
      create(ShadowComparisonSchema, {
        requestId,
        traceId: traceId ?? "",
        model,
        primaryVersion: primary.primaryVersion,
        shadowVersion: version,
        primaryLatencyUs: BigInt(primary.primaryLatencyUs),
        primaryReplicaId: primary.primaryReplicaId,
        time: timestampNow(),
        ...fields,
      });
    // After the caller's answer is on its way; a detached call that cannot fail the caller's.
    setImmediate(() => {
      const started = performance.now();
      const latencyUs = () => BigInt(Math.round((performance.now() - started) * 1000));
      this.options.dispatcher
        // Its own signal: the caller's call is over (and its signal aborted) by now; the deadline bounds it.
        .dispatch({ model, forceVersion: version, deadlineMs }, attempt(input.body, new AbortController().signal))
        .then(
          (shadow) => {
            const comparison = compareOutputs(method.kind!, primary.primary, shadow.value.body);
            metrics.shadowDifference.observe(label, differenceOf(comparison));
            metrics.shadowRequests.inc({ ...label, outcome: "compared" });
            shadowComparisons?.offerShadowComparison(
              model,
              version,
              record({
                maxAbsDifference: comparison.maxAbsDifference,
                mismatch: comparison.mismatch,
                outputs: comparison.outputs.map((o) => create(OutputDifferenceSchema, o)),
                shadowLatencyUs: latencyUs(),
                shadowReplicaId: shadow.replicaId,
              }),
            );
          },
          (error: unknown) => {
            metrics.shadowRequests.inc({ ...label, outcome: "failed" });
            this.options.logger.debug("shadow request failed", { model, version, error });
            const code = error instanceof UpstreamError ? error.code : status.UNKNOWN;
            shadowComparisons?.offerShadowComparison(model, version, record({ shadowErrorCode: Code[code as number] ?? "Unknown", shadowLatencyUs: latencyUs() }));
          },
        )
        .finally(() => this.shadowsInFlight--);
    });
  }

  private outgoingMetadata(incoming: Metadata): Metadata {
    const out = new Metadata();
    for (const key of Object.keys(incoming.getMap())) {
      if (DROPPED.has(key) || key.startsWith(":")) continue;
      for (const v of incoming.get(key)) out.add(key, v);
    }
    if (this.options.meshToken) out.set(MESH_TOKEN_HEADER, this.options.meshToken);
    return out;
  }
}

export const MESH_TOKEN_HEADER = "x-tessera-mesh-token";

/** The attempt's own copy of the outgoing metadata, saying why it goes to that version (the replica logs it; a caller's copy is replaced). */
function withRoute(outgoing: Metadata, route: AttemptRoute): Metadata {
  const metadata = outgoing.clone();
  metadata.set(ROUTE_REASON_HEADER, route.reason);
  metadata.set(ROUTE_REVISION_HEADER, String(route.revision));
  return metadata;
}

/**
 * One try on a replica inside a client span, a child of the router's
 * server span: the replica gets this span's traceparent, not the caller's,
 * so its server span hangs under the router's hop. With tracing off the
 * metadata goes as it is (the caller's traceparent passes through).
 */
function tracedAttempt(path: string, address: string, metadata: Metadata, call: (metadata: Metadata) => Promise<RawResponse>): Promise<RawResponse> {
  const parent = otelContext.active();
  if (!trace.getSpan(parent)?.isRecording()) return call(metadata);
  const slash = path.lastIndexOf("/");
  const span = startRpcSpan({ system: "grpc", service: path.slice(1, slash), method: path.slice(slash + 1), side: "client", address, parent });
  const outgoing = metadata.clone();
  for (const [key, value] of Object.entries(traceHeaders(trace.setSpan(parent, span)))) outgoing.set(key, value);
  return call(outgoing).then(
    (response) => {
      endRpcSpan(span, "client", 0);
      return response;
    },
    (error: unknown) => {
      endRpcSpan(span, "client", error instanceof UpstreamError ? error.code : status.UNKNOWN, error instanceof UpstreamError ? error.details : undefined);
      throw error;
    },
  );
}

function header(metadata: Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" && value !== "" ? value : undefined;
}

function parseVersion(text: string | undefined, what: string): number | undefined {
  if (text === undefined || text === "") return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(text) || Number(text) > 0xffffffff) throw new UpstreamError(status.INVALID_ARGUMENT, `${what} is "${text}"; expected a version number (1, 2, ...)`);
  return Number(text);
}

/** The trace id of a W3C traceparent ("00-<trace id>-<span id>-<flags>"), when it is one. */
function traceIdOf(traceparent: string | undefined): string | undefined {
  const match = traceparent === undefined ? null : /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/.exec(traceparent.trim());
  return match ? match[1] : undefined;
}
