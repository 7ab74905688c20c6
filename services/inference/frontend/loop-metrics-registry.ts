import { AggregatorRegistry, Registry, type MetricObjectWithValues, type MetricValue } from "prom-client";

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/**
 * The replica's registry when its gRPC port runs on several loops: /metrics
 * is served once, by the main thread, and each family the loops also count
 * (the RPC counters and timings) is summed over the main thread and every
 * loop, so a scrape sees one replica, not one series per loop. Families
 * only the main thread has (inference counts, process metrics) pass as they are.
 */
export class LoopMetricsRegistry extends Registry {
  /** Set once the loops run: each loop's metrics as prom-client JSON. */
  gatherLoops: (() => Promise<unknown[][]>) | undefined;

  override async metrics(): Promise<string> {
    const fromLoops = ((await this.gatherLoops?.()) ?? []) as MetricsJson[];
    if (fromLoops.length === 0) return super.metrics();
    const shared = new Set(fromLoops.flatMap((metrics) => metrics.map((m) => m.name)));
    const own = await this.getMetricsAsJSON();
    const parts: string[] = [];
    for (const metric of own) if (!shared.has(metric.name)) parts.push(await this.getSingleMetricAsString(metric.name));
    const summed = AggregatorRegistry.aggregate([own.filter((m) => shared.has(m.name)).map(summedByDefault), ...fromLoops.map((m) => m.map(summedByDefault))]);
    parts.push(await summed.metrics());
    return parts.filter((part) => part.length > 0).join("\n") + "\n";
  }
}

// RPC counters and histograms add up across loops.
function summedByDefault(metric: MetricObjectWithValues<MetricValue<string>>): MetricObjectWithValues<MetricValue<string>> {
  return { ...metric, aggregator: metric.aggregator ?? "sum" };
}
