import { diag, DiagLogLevel, ProxyTracerProvider, trace, type DiagLogger } from "@opentelemetry/api";
import type { SpanProcessor } from "@opentelemetry/sdk-trace";
import { silentLogger, type Logger } from "../log/index.js";

export interface TelemetryOptions {
  /** `service.name` of every span ("registry", "inference"); OTEL_SERVICE_NAME overrides it. */
  serviceName: string;
  /** Where SDK warnings (a bad OTEL_* value, a failed export) go. Default: dropped. */
  logger?: Logger;
  /** The OTEL_* variables. Default process.env, which the SDK reads in any case. */
  env?: NodeJS.ProcessEnv;
  /**
   * Span processors instead of the exporter the OTEL_* variables choose;
   * turns tracing on whatever they say. For tests (an in-memory exporter).
   */
  spanProcessors?: SpanProcessor[];
}

export interface Telemetry {
  /** Whether spans are recorded and exported. */
  readonly enabled: boolean;
  /** Flushes spans not yet exported and stops. Never rejects. */
  shutdown(): Promise<void>;
}

// Variables that ask for an exporter. With none of them set tracing stays
// off: no exporter sends to a default endpoint nobody runs.
const EXPORTER_VARIABLES = ["OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_CONFIG_FILE"];
const PROTOCOLS = ["http/protobuf", "http/json", "grpc"];
const EXPORTERS = ["otlp", "console", "zipkin", "none"];

const off: Telemetry = { enabled: false, shutdown: async () => {} };

/**
 * Starts OpenTelemetry tracing for this process with @opentelemetry/sdk-node,
 * configured by the standard OTEL_* variables (docs/telemetry.md): OTLP over
 * HTTP (protobuf or JSON) or gRPC, W3C trace context. Off when no exporter
 * is asked for. Never throws: a bad configuration is logged and tracing
 * stays off, as sdk-node's own start does; telemetry never takes a service
 * down. Metrics stay with prom-client (/metrics) and logs with libs/log.
 * The one module-level singleton DESIGN.md allows: call it once, first
 * thing in a service's main. The SDK is imported only when tracing is on:
 * it is most of a second of start-up on a small machine, which every
 * process importing libs/host (the CLI too) would otherwise pay.
 */
export async function startTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const env = options.env ?? process.env;
  const logger = options.logger ?? silentLogger;
  try {
    if (!options.spanProcessors && !EXPORTER_VARIABLES.some((name) => (env[name] ?? "").trim() !== "")) return off;
    if (isTrue(env.OTEL_SDK_DISABLED)) return off;
    warnOnOddValues(env, logger);
    const tracesExporter = (env.OTEL_TRACES_EXPORTER ?? "").trim();
    if (!options.spanProcessors && tracesExporter === "none") return off;

    const [{ startNodeSdk }, { TracerProvider }] = await Promise.all([import("@opentelemetry/sdk-node"), import("@opentelemetry/sdk-trace")]);
    const named = (env.OTEL_SERVICE_NAME ?? "").trim() !== "" || /(^|,)\s*service\.name\s*=/.test(env.OTEL_RESOURCE_ATTRIBUTES ?? "");
    const sdk = startNodeSdk({
      // Errors while starting go to sdk-node's console logger (stderr);
      // ours takes over below, once it has started.
      logLevel: "error",
      resourceAttributes: named ? {} : { "service.name": options.serviceName },
      ...(options.spanProcessors ? { spanProcessors: options.spanProcessors } : {}),
      metricReaders: [],
      logRecordProcessors: [],
    });
    diag.setLogger(diagLogger(logger), { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
    // sdk-node answers a configuration it cannot use with a no-op SDK (and a diag error).
    const provider = trace.getTracerProvider();
    if (!((provider instanceof ProxyTracerProvider ? provider.getDelegate() : provider) instanceof TracerProvider)) {
      logger.warn("tracing is off: the OpenTelemetry SDK did not start with this configuration (see the error above)");
      return off;
    }
    logger.info("tracing on", {
      exporter: options.spanProcessors ? "given span processors" : tracesExporter || "otlp",
      protocol: env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf",
    });
    return {
      enabled: true,
      shutdown: () =>
        sdk.shutdown().catch((error: unknown) => {
          logger.warn("telemetry shutdown failed; spans not yet exported are lost", { error });
        }),
    };
  } catch (error) {
    logger.warn("tracing is off: the OpenTelemetry configuration could not be used", { error });
    return off;
  }
}

function warnOnOddValues(env: NodeJS.ProcessEnv, logger: Logger): void {
  for (const name of ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"]) {
    const value = env[name]?.trim();
    if (value && !PROTOCOLS.includes(value)) logger.warn(`${name}=${value} is not one of ${PROTOCOLS.join(", ")}; the SDK falls back to http/protobuf`);
  }
  const unknown = (env.OTEL_TRACES_EXPORTER ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "" && !EXPORTERS.includes(s));
  if (unknown.length > 0) logger.warn(`OTEL_TRACES_EXPORTER names ${unknown.join(", ")}, not one of ${EXPORTERS.join(", ")}; ignored`);
}

function isTrue(value: string | undefined): boolean {
  return (value ?? "").trim().toLowerCase() === "true";
}

function diagLogger(logger: Logger): DiagLogger {
  const line = (level: "warn" | "error" | "info" | "debug") => (message: string, ...args: unknown[]) =>
    logger[level](`opentelemetry: ${message}`, args.length > 0 ? { details: args.map((a) => (a instanceof Error ? a.message : a)) } : undefined);
  return { error: line("error"), warn: line("warn"), info: line("info"), debug: line("debug"), verbose: line("debug") };
}
