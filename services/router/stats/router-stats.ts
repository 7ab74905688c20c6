import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { randomUUID } from "node:crypto";
import type { Registry } from "prom-client";
import type { EventBus } from "../../../libs/events/index.js";
import { RouterStatsSchema, type RouterStats } from "../../../libs/gen/tessera/events/v1/router_events_pb.js";
import type { Logger } from "../../../libs/log/index.js";

/** Subject of RouterStats, under the mesh's prefix like every event (the events stream keeps them too: one small message per router per interval). */
export const ROUTER_STATS_SUBJECT = "tessera.router.stats";

const DEGRADED_METRIC = "tessera_router_degraded_total";

/** The router's counters as one RouterStats (cumulative since `startTime`). */
export async function readRouterStats(metrics: Registry, routerId: string, startTime: Date, now: Date): Promise<RouterStats> {
  const counter = metrics.getSingleMetric(DEGRADED_METRIC);
  const values = counter ? (await counter.get()).values : [];
  return create(RouterStatsSchema, {
    routerId,
    startTime: timestampFromDate(startTime),
    time: timestampFromDate(now),
    degraded: values
      .filter((v) => typeof v.labels.model === "string")
      .map((v) => ({ model: String(v.labels.model), kind: String(v.labels.kind ?? ""), total: BigInt(Math.round(v.value)) })),
  });
}

/**
 * Publishes the router's RouterStats every `intervalMs` (timer unref'd), so
 * monitoring can alert on degraded answers without scraping /metrics. A
 * failed publish is logged; the next one carries the same totals and more.
 */
export function startRouterStats(options: { metrics: Registry; events: EventBus; intervalMs: number; logger: Logger }): { stop(): void } {
  const routerId = randomUUID();
  const startTime = new Date();
  const timer = setInterval(() => {
    void readRouterStats(options.metrics, routerId, startTime, new Date())
      .then((stats) => options.events.publish(ROUTER_STATS_SUBJECT, RouterStatsSchema, stats, { source: "tessera/router" }))
      .catch((error: unknown) => options.logger.warn("could not publish router stats", { error }));
  }, options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
