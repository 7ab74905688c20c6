import { describe, expect, it } from "vitest";
import { trace } from "@opentelemetry/api";
import { createLogger } from "../log/index.js";
import { startTelemetry, tracingOn } from "./index.js";

const recording = () => {
  const span = trace.getTracer("test").startSpan("probe");
  const answer = span.isRecording();
  span.end();
  return answer;
};

function capture() {
  const lines: { level: string; msg: string }[] = [];
  return { lines, logger: createLogger("t", { write: (line) => lines.push(JSON.parse(line) as { level: string; msg: string }) }) };
}

// Cases that leave tracing off come first: OpenTelemetry's globals are set
// once per process, so the one that turns it on is last.
describe("startTelemetry()", () => {
  it.each([
    ["no OTEL_* variable", {}],
    ["OTEL_TRACES_EXPORTER=none", { OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }],
    ["OTEL_SDK_DISABLED=true", { OTEL_SDK_DISABLED: "true", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }],
  ])("stays off with %s", async (_case, env) => {
    const telemetry = await startTelemetry({ serviceName: "t", env });
    expect(telemetry.enabled).toBe(false);
    expect(recording()).toBe(false);
    // What libs/host asks before doing any span or context work for a call.
    expect(tracingOn()).toBe(false);
    await telemetry.shutdown();
  });

  it("warns about values it does not know, naming the valid ones, and never throws", async () => {
    const { lines, logger } = capture();
    const env = {
      OTEL_EXPORTER_OTLP_PROTOCOL: "carrier-pigeon",
      OTEL_TRACES_EXPORTER: "otlp,jaeger",
      OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9",
      // Nothing listens there: shutdown's flush gives up after this, not the default 10 s of retries.
      OTEL_EXPORTER_OTLP_TIMEOUT: "500",
    };
    // The SDK reads process.env itself; what it reads must be what we checked.
    const saved = { ...process.env };
    Object.assign(process.env, env);
    try {
      const telemetry = await startTelemetry({ serviceName: "t", env, logger });
      const warnings = lines.filter((l) => l.level === "warn").map((l) => l.msg);
      expect(warnings.some((w) => w.includes("carrier-pigeon") && w.includes("http/protobuf, http/json, grpc"))).toBe(true);
      expect(warnings.some((w) => w.includes("jaeger") && w.includes("otlp, console, zipkin, none"))).toBe(true);
      // Falls back to OTLP over http/protobuf, which a dead endpoint does not stop.
      expect(telemetry.enabled).toBe(true);
      expect(recording()).toBe(true);
      expect(tracingOn()).toBe(true);
      await telemetry.shutdown();
    } finally {
      for (const key of Object.keys(env)) delete process.env[key];
      Object.assign(process.env, saved);
    }
  });
});
