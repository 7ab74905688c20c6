import { Counter, Gauge, Histogram, type Registry } from "prom-client";

type RouteLabels = "model" | "version";

/**
 * The router's metrics per route (model) and version:
 * tessera_router_{requests_total,request_duration_seconds,retries_total,
 * ejections_total,circuit_open_total,shadow_requests_total,
 * shadow_difference,degraded_total}, and membership/NATS gauges.
 */
export class RouterMetrics {
  readonly requests: Counter<RouteLabels | "code" | "decision">;
  readonly duration: Histogram<RouteLabels>;
  readonly retries: Counter<RouteLabels>;
  readonly ejections: Counter<RouteLabels | "replica">;
  readonly circuitOpen: Counter<RouteLabels>;
  readonly shadowRequests: Counter<RouteLabels | "outcome">;
  readonly shadowDifference: Histogram<RouteLabels>;
  readonly degraded: Counter<"model" | "kind">;
  readonly replicas: Gauge;
  readonly natsConnected: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    const labelNames = ["model", "version"] as const;
    this.requests = new Counter({
      name: "tessera_router_requests_total",
      help: "Requests answered by the router, by gRPC status code name and route decision (split, sticky, pinned, direct, fallback).",
      labelNames: [...labelNames, "code", "decision"],
      registers,
    });
    this.duration = new Histogram({
      name: "tessera_router_request_duration_seconds",
      help: "Time from the router receiving a request to answering it, retries included.",
      labelNames,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.retries = new Counter({ name: "tessera_router_retries_total", help: "Attempts retried on another replica.", labelNames, registers });
    this.ejections = new Counter({ name: "tessera_router_ejections_total", help: "Replicas ejected by outlier detection.", labelNames: [...labelNames, "replica"], registers });
    this.circuitOpen = new Counter({
      name: "tessera_router_circuit_open_total",
      help: "Requests that found every replica of a version at its max pending calls.",
      labelNames,
      registers,
    });
    this.shadowRequests = new Counter({
      name: "tessera_router_shadow_requests_total",
      help: "Requests mirrored to a shadow version, by outcome (compared, failed, skipped).",
      labelNames: [...labelNames, "outcome"],
      registers,
    });
    this.shadowDifference = new Histogram({
      name: "tessera_router_shadow_difference",
      help: "Largest absolute difference between a shadow version's outputs and the primary's (version: the shadow's).",
      labelNames,
      buckets: [0, 1e-6, 1e-4, 1e-3, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 10],
      registers,
    });
    this.degraded = new Counter({
      name: "tessera_router_degraded_total",
      help: "Answers that were degraded, by kind (fallback-version, cached, default).",
      labelNames: ["model", "kind"],
      registers,
    });
    this.replicas = new Gauge({ name: "tessera_router_replicas", help: "Replicas in the router's membership view.", registers });
    this.natsConnected = new Gauge({ name: "tessera_router_nats_connected", help: "1 while the router's NATS connection is up; 0 while it serves from its last known state.", registers });
  }
}
