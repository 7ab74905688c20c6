import type { Code } from "@connectrpc/connect";

/** Told about every finished call, on either port (metrics, logs). */
export interface CallObserver {
  callEnded(event: { method: string; transport: "grpc" | "http"; code: Code | 0; durationSeconds: number; error?: unknown }): void;
}
