import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { RouterMetrics } from "../router-metrics.js";
import { readRouterStats } from "./router-stats.js";

describe("readRouterStats()", () => {
  it("carries the degraded-answer counter's totals per model and kind, with the router's id and start", async () => {
    const registry = new Registry();
    const metrics = new RouterMetrics(registry);
    metrics.degraded.inc({ model: "fraud", kind: "cached" }, 3);
    metrics.degraded.inc({ model: "fraud", kind: "default" });
    metrics.degraded.inc({ model: "spam", kind: "fallback-version" }, 2);
    const stats = await readRouterStats(registry, "r-1", new Date(1_000), new Date(5_000));
    expect(stats.routerId).toBe("r-1");
    expect(timestampMs(stats.startTime!)).toBe(1_000);
    expect(timestampMs(stats.time!)).toBe(5_000);
    expect(stats.degraded.map((d) => [d.model, d.kind, d.total])).toEqual([
      ["fraud", "cached", 3n],
      ["fraud", "default", 1n],
      ["spam", "fallback-version", 2n],
    ]);
  });

  it("sends an empty list before anything was degraded", async () => {
    const registry = new Registry();
    new RouterMetrics(registry);
    expect((await readRouterStats(registry, "r-1", new Date(0), new Date(0))).degraded).toEqual([]);
  });
});
