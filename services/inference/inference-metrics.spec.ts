import { describe, expect, it } from "vitest";
import { Registry } from "prom-client";
import { Code } from "../../libs/errors/index.js";
import { InferenceMetrics, UNKNOWN_MODEL } from "./inference-metrics.js";

describe("InferenceMetrics", () => {
  it("counts every request under its model, version and status, with series bound once per version", async () => {
    const registry = new Registry();
    const metrics = new InferenceMetrics(registry, () => [{ model: "fraud", version: 3, runner: { queueDepth: 2 } }]);
    const outcome = { rows: 4, queueUs: 1500, computeUs: 250, batchSize: 8 };
    for (let i = 0; i < 3; i++) metrics.record("fraud", 3, 0, outcome);
    metrics.record("fraud", 4, 0, { ...outcome, rows: 1 });
    metrics.record("fraud", 3, Code.InvalidArgument);
    metrics.record(UNKNOWN_MODEL, 0, Code.NotFound);
    const text = await registry.metrics();
    expect(text).toContain('tessera_inference_requests_total{model="fraud",version="3",status="OK"} 3');
    expect(text).toContain('tessera_inference_requests_total{model="fraud",version="4",status="OK"} 1');
    expect(text).toContain('tessera_inference_requests_total{model="fraud",version="3",status="InvalidArgument"} 1');
    expect(text).toContain('tessera_inference_requests_total{model="(unknown)",version="",status="NotFound"} 1');
    expect(text).toContain('tessera_inference_rows_total{model="fraud",version="3"} 12');
    expect(text).toContain('tessera_inference_batch_size_count{model="fraud",version="3"} 3');
    expect(text).toContain('tessera_inference_queue_seconds_sum{model="fraud",version="3"} 0.0045');
    expect(text).toContain('tessera_inference_queue_depth{model="fraud",version="3"} 2');
  });

  it("shows where each loaded version's sessions run", async () => {
    const registry = new Registry();
    new InferenceMetrics(registry, () => [
      { model: "fraud", version: 3, runner: { queueDepth: 0, placement: { placement: "event-loop" } } },
      { model: "wide", version: 1, runner: { queueDepth: 0, placement: { placement: "thread" } } },
      { model: "loading", version: 2 },
    ]);
    const text = await registry.metrics();
    expect(text).toContain('tessera_inference_session_placement{model="fraud",version="3",placement="event-loop"} 1');
    expect(text).toContain('tessera_inference_session_placement{model="wide",version="1",placement="thread"} 1');
    expect(text).not.toContain('model="loading"');
  });
});
