import type { NatsConnection } from "@nats-io/transport-node";
import { redactUrl } from "./nats-options.js";

/** Undefined while NATS is reachable; otherwise why not, for /readyz. */
export type NatsProblem = string | undefined;

/**
 * Calls `onChange` with a problem when the connection to NATS drops, and
 * with undefined once it is back, so a service that cannot work without
 * NATS reports itself not ready meanwhile. Returns a function that stops
 * following.
 */
export function followNatsHealth(nc: NatsConnection, onChange: (problem: NatsProblem) => void): () => void {
  const status = nc.status()[Symbol.asyncIterator]();
  void (async () => {
    for (let next = await status.next(); !next.done; next = await status.next()) {
      const s = next.value;
      if (s.type === "disconnect") onChange(`lost the connection to NATS at ${redactUrl(s.server)}; reconnecting`);
      else if (s.type === "reconnect") onChange(undefined);
      else if (s.type === "close") onChange("the NATS connection is closed");
    }
  })();
  return () => void status.return?.();
}
