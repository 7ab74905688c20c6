import { status } from "@grpc/grpc-js";
import { trace } from "@opentelemetry/api";
import type { Route } from "../../../libs/gen/tessera/router/v1/router_pb.js";
import { OutlierDetector, type OutlierOptions } from "../balancing/outlier-detector.js";
import { pickReplica } from "../balancing/pick-replica.js";
import { RetryBudget, type RetryBudgetOptions } from "../balancing/retry-budget.js";
import type { ReplicaEndpoint, VersionSelector } from "../discovery/replica-table.js";
import type { RouterMetrics } from "../router-metrics.js";
import { decideRoute, type RouteKind } from "../routes/route-decision.js";
import { isReplicaFailure, isRetryable, UpstreamError } from "./upstream-error.js";

export interface ReplicaSource {
  serving(model: string, selector: VersionSelector): ReplicaEndpoint[];
  /** Whether any replica lists the model, in any state. */
  knows(model: string): boolean;
}

export interface RouteSource {
  get(model: string): Route | undefined;
}

export interface DispatchRequest {
  model: string;
  /** A version the request itself names (it is then not routed). */
  version?: number;
  /** An alias the request names: replicas that resolve it serve it. */
  alias?: string;
  /** x-tessera-version. */
  pinnedVersion?: number;
  /** The route's sticky header value. */
  stickyKey?: (route: Route) => string | undefined;
  /** Exactly this version, no route, no fallback: a shadow copy. */
  forceVersion?: number;
  /** Absolute, ms since the epoch: no attempt outlives it. */
  deadlineMs: number;
  /** The caller's: once aborted, no further attempt starts. */
  signal?: AbortSignal;
}

/** Why the request is going to this version, and the route revision that said so (0n without a route): the replica logs it. */
export interface AttemptRoute {
  readonly reason: RouteKind;
  readonly revision: bigint;
}

/**
 * One try on one replica. `version` is set when the router chose the
 * version (the request must be redirected to it); undefined: send as is.
 */
export type Attempt<T> = (replica: ReplicaEndpoint, version: number | undefined, deadlineMs: number, route: AttemptRoute) => Promise<T>;

export interface Dispatched<T> {
  value: T;
  /** The version answered; undefined when the replica's default answered. */
  version: number | undefined;
  replicaId: string;
  decision: RouteKind;
  /** "fallback-version" when the route's fallback answered. */
  degraded?: "fallback-version";
  shadowVersion?: number;
  route?: Route;
}

export interface DispatcherOptions {
  replicas: ReplicaSource;
  routes: RouteSource;
  metrics: RouterMetrics;
  outlier?: OutlierOptions;
  retryBudget?: RetryBudgetOptions;
  /** Per-replica circuit breaker: calls in flight from this router. Default 1024. */
  maxPendingPerReplica?: number;
  /** Attempts per request, first included. Default 3. */
  maxAttempts?: number;
  random?: () => number;
  now?: () => number;
}

/** The versions to try in order, and how the first was chosen. */
interface Plan {
  decision: RouteKind;
  pools: Array<{ version: number | undefined; selector: VersionSelector; fallback: boolean }>;
  shadowVersion?: number;
  route?: Route;
}

/**
 * The router's request path after the wire: choose a version from the
 * route, pick a replica (P2C, ejection, circuit breaker), try it, retry
 * elsewhere within budget and deadline, fail over to the fallback version.
 * Protocol-free: the caller's Attempt does the I/O.
 */
export class Dispatcher {
  readonly outliers: OutlierDetector;
  private readonly budget: RetryBudget;
  private readonly pending = new Map<string, number>();
  private readonly maxPending: number;
  private readonly maxAttempts: number;
  private readonly random: () => number;
  private readonly now: () => number;

  constructor(private readonly options: DispatcherOptions) {
    this.outliers = new OutlierDetector(options.outlier);
    this.budget = new RetryBudget(options.retryBudget);
    this.maxPending = options.maxPendingPerReplica ?? 1024;
    this.maxAttempts = options.maxAttempts ?? 3;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  outstanding(replicaId: string): number {
    return this.pending.get(replicaId) ?? 0;
  }

  plan(request: DispatchRequest): Plan {
    if (request.forceVersion !== undefined) return { decision: "shadow", pools: [{ version: request.forceVersion, selector: { version: request.forceVersion }, fallback: false }] };
    if (request.version !== undefined) return { decision: "direct", pools: [{ version: undefined, selector: { version: request.version }, fallback: false }] };
    if (request.alias !== undefined) return { decision: "direct", pools: [{ version: undefined, selector: { alias: request.alias }, fallback: false }] };
    const route = this.options.routes.get(request.model);
    if (!route) {
      if (request.pinnedVersion !== undefined) return { decision: "pinned", pools: [{ version: request.pinnedVersion, selector: { version: request.pinnedVersion }, fallback: false }] };
      return { decision: "direct", pools: [{ version: undefined, selector: { any: true }, fallback: false }] };
    }
    const decision = decideRoute(route, { pinnedVersion: request.pinnedVersion, stickyKey: request.stickyKey?.(route), random: this.random });
    const pools: Plan["pools"] = [{ version: decision.version, selector: { version: decision.version }, fallback: false }];
    if (route.fallbackVersion !== 0 && route.fallbackVersion !== decision.version) {
      pools.push({ version: route.fallbackVersion, selector: { version: route.fallbackVersion }, fallback: true });
    }
    return { decision: decision.kind, pools, shadowVersion: decision.shadowVersion, route };
  }

  async dispatch<T>(request: DispatchRequest, attempt: Attempt<T>): Promise<Dispatched<T>> {
    const plan = this.plan(request);
    const { metrics } = this.options;
    this.budget.requested();
    const tried = new Set<string>();
    let attempts = 0;
    let last: UpstreamError | undefined;
    let circuitOpen = false;
    for (const pool of plan.pools) {
      const label = { model: request.model, version: pool.version === undefined ? "default" : String(pool.version) };
      const candidates = this.options.replicas.serving(request.model, pool.selector);
      for (;;) {
        const picked = pickReplica({
          candidates,
          id: (r) => r.replicaId,
          outstanding: (id) => this.outstanding(id),
          ejected: (id) => this.outliers.isEjected(id, this.now()),
          exclude: tried,
          maxPending: this.maxPending,
          random: this.random,
        });
        if ("none" in picked) {
          if (picked.none === "circuit-open") {
            circuitOpen = true;
            metrics.circuitOpen.inc(label);
          }
          break;
        }
        if (attempts >= this.maxAttempts) throw last ?? noReplica(request, pool.selector);
        if (attempts > 0) {
          if (!this.budget.tryRetry()) throw last ?? noReplica(request, pool.selector);
          metrics.retries.inc(label);
        }
        if (request.signal?.aborted) throw new UpstreamError(status.CANCELLED, `the caller cancelled the request after ${attempts} attempt(s) on ${request.model}`);
        if (this.now() >= request.deadlineMs) throw new UpstreamError(status.DEADLINE_EXCEEDED, `the caller's deadline passed after ${attempts} attempt(s) on ${request.model}`);
        attempts++;
        const replica = picked.replica;
        tried.add(replica.replicaId);
        this.pending.set(replica.replicaId, this.outstanding(replica.replicaId) + 1);
        const attemptStart = this.now();
        try {
          const reason = pool.fallback ? "fallback" : plan.decision;
          const value = await attempt(replica, pool.version, hopDeadline(request.deadlineMs, attemptStart), { reason, revision: plan.route?.revision ?? 0n });
          this.outliers.succeeded(replica.replicaId);
          trace.getActiveSpan()?.setAttributes({
            "tessera.model": request.model,
            "tessera.version": pool.version ?? 0,
            "tessera.route.decision": pool.fallback ? "fallback" : plan.decision,
            "tessera.replica": replica.replicaId,
            ...(plan.shadowVersion !== undefined ? { "tessera.route.shadow_version": plan.shadowVersion } : {}),
          });
          return {
            value,
            version: pool.version,
            replicaId: replica.replicaId,
            decision: pool.fallback ? "fallback" : plan.decision,
            degraded: pool.fallback ? "fallback-version" : undefined,
            shadowVersion: plan.shadowVersion,
            route: plan.route,
          };
        } catch (error) {
          // A caller's cancel is CANCELLED, never counted against the replica; a late one
          // lets the hop run to its own deadline first (attempt-signal.ts), so a replica
          // that really did not answer in time fails here with DEADLINE_EXCEEDED.
          const failure = error instanceof UpstreamError ? error : new UpstreamError(status.INTERNAL, String((error as Error)?.message ?? error));
          if (isReplicaFailure(failure.code)) {
            const peers = candidates.map((r) => r.replicaId);
            if (this.outliers.failed(replica.replicaId, this.now(), peers)) metrics.ejections.inc({ ...label, replica: replica.replicaId });
          }
          if (!isRetryable(failure.code)) throw failure;
          last = failure;
        } finally {
          const left = this.outstanding(replica.replicaId) - 1;
          if (left <= 0) this.pending.delete(replica.replicaId);
          else this.pending.set(replica.replicaId, left);
        }
      }
    }
    if (last) throw new UpstreamError(last.code, `${describe(request, plan)}: every replica tried failed; last: ${last.details}`, last.metadata);
    if (circuitOpen) throw new UpstreamError(status.UNAVAILABLE, `${describe(request, plan)}: every replica has ${this.maxPending} calls in flight (circuit open); retry later`);
    if (!plan.route && request.pinnedVersion === undefined && !this.options.replicas.knows(request.model)) {
      throw new UpstreamError(
        status.NOT_FOUND,
        `model "${request.model}" has no route and no replica serves it: check the name, or serve it (TESSERA_SERVE on a replica) and set a route with \`tessera routes set\``,
      );
    }
    throw noReplica(request, plan.pools[0]!.selector, plan.pools.length > 1);
  }

  routeOf(model: string): Route | undefined {
    return this.options.routes.get(model);
  }

  /** A replica left membership: its counters go too. */
  forget(replicaId: string): void {
    this.outliers.forget(replicaId);
  }
}

/**
 * The hop's deadline: a little before the caller's (up to 25 ms, a tenth
 * of what is left), so the router sees the replica time out and answers
 * DEADLINE_EXCEEDED itself, and counts it against the replica, before the
 * caller gives up on the router.
 */
export function hopDeadline(deadlineMs: number, nowMs: number): number {
  return deadlineMs - Math.min(25, Math.max(0, deadlineMs - nowMs) / 10);
}

function selectorText(selector: VersionSelector): string {
  if ("version" in selector) return `version ${selector.version}`;
  if ("alias" in selector) return `alias "${selector.alias}"`;
  return "any version";
}

function describe(request: DispatchRequest, plan: Plan): string {
  return `model "${request.model}" (${plan.pools.map((p) => selectorText(p.selector)).join(", then fallback ")})`;
}

function noReplica(request: DispatchRequest, selector: VersionSelector, withFallback = false): UpstreamError {
  return new UpstreamError(
    status.UNAVAILABLE,
    `no healthy replica serves model "${request.model}" ${selectorText(selector)}${withFallback ? " nor its fallback version" : ""}: check \`tessera status\` and the replicas' logs`,
  );
}
