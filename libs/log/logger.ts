import { context, isSpanContextValid, trace } from "@opentelemetry/api";

/** Fields attached to one log line. */
export type LogFields = Record<string, unknown>;

export type LogLevel = "debug" | "info" | "warn" | "error";

const levelRank: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /** A logger whose every line also carries these fields. */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Lines below this level are dropped. Default "info". */
  level?: LogLevel;
  /** Where lines go. Default: process.stderr, so stdout stays for output. */
  write?: (line: string) => void;
}

/**
 * One JSON line per event: {time, level, service, msg, ...fields}, plus
 * trace_id, span_id and trace_flags while a span is active (the names
 * OpenTelemetry gives trace context in non-OTLP log formats), so a line
 * leads to its trace.
 */
export function createLogger(service: string, options: LoggerOptions = {}, bound: LogFields = {}): Logger {
  const min = levelRank[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(line + "\n"));
  const emit = (level: LogLevel, msg: string, fields?: LogFields) => {
    if (levelRank[level] < min) return;
    const line: LogFields = { time: new Date().toISOString(), level, service, msg, ...traceFields(), ...bound, ...fields };
    write(JSON.stringify(line, errorReplacer));
  };
  return {
    debug: (m, f) => emit("debug", m, f),
    info: (m, f) => emit("info", m, f),
    warn: (m, f) => emit("warn", m, f),
    error: (m, f) => emit("error", m, f),
    child: (fields) => createLogger(service, options, { ...bound, ...fields }),
  };
}

/** A logger that drops everything, for tests that do not read logs. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

function traceFields(): LogFields {
  const span = trace.getSpanContext(context.active());
  if (!span || !isSpanContextValid(span)) return {};
  return { trace_id: span.traceId, span_id: span.spanId, trace_flags: `0${span.traceFlags.toString(16)}`.slice(-2) };
}

function errorReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message };
  if (typeof value === "bigint") return value.toString();
  return value;
}
