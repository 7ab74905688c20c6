import { Counter, Histogram, type Registry } from "prom-client";
import { Code } from "@connectrpc/connect";
import type { CallObserver } from "./call-observer.js";
import type { Logger } from "../log/index.js";

/**
 * Counts and times every call on both ports:
 * tessera_<service>_rpc_requests_total{method,transport,code} and
 * tessera_<service>_rpc_duration_seconds{method,transport}.
 * Failures we did not expect (INTERNAL, UNKNOWN) are logged.
 */
export function rpcMetricsObserver(service: string, registry: Registry, logger: Logger): CallObserver {
  const requests = new Counter({
    name: `tessera_${service}_rpc_requests_total`,
    help: "RPCs answered, by method, transport and gRPC status code.",
    labelNames: ["method", "transport", "code"],
    registers: [registry],
  });
  const duration = new Histogram({
    name: `tessera_${service}_rpc_duration_seconds`,
    help: "Time to answer an RPC, by method and transport.",
    labelNames: ["method", "transport"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  // Series bound once per (method, transport, code): prom-client hashes the labels on every unbound inc/observe.
  const counted = new Map<string, Counter.Internal>();
  const timed = new Map<string, Histogram.Internal<string>>();
  return {
    callEnded({ method, transport, code, durationSeconds, error }) {
      const codeName = code === 0 ? "OK" : (Code[code] ?? String(code));
      const series = `${method}\n${transport}`;
      const countKey = `${series}\n${codeName}`;
      let counter = counted.get(countKey);
      if (!counter) counted.set(countKey, (counter = requests.labels({ method, transport, code: codeName })));
      counter.inc();
      let timer = timed.get(series);
      if (!timer) timed.set(series, (timer = duration.labels({ method, transport })));
      timer.observe(durationSeconds);
      if (code === Code.Internal || code === Code.Unknown) logger.error("rpc failed", { method, transport, code: codeName, error });
    },
  };
}
