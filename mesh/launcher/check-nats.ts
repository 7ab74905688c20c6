import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";

/** nats.js and nats-server's own default. */
export const DEFAULT_NATS_URL = "nats://127.0.0.1:4222";

export type NatsCheck = { readonly ok: true } | { readonly ok: false; readonly problem: "unreachable" | "no-jetstream"; readonly reason: string };

/**
 * Whether a NATS server with JetStream answers at `url`, asked once with a
 * short timeout (a loopback server answers in milliseconds; this is a
 * probe, not a connection to keep).
 */
export async function checkNats(url: string, timeoutMs = 2_000): Promise<NatsCheck> {
  let nc;
  try {
    nc = await connect({ servers: url, name: "tessera-check", timeout: timeoutMs, maxReconnectAttempts: 0, reconnect: false });
  } catch (error) {
    return { ok: false, problem: "unreachable", reason: error instanceof Error ? error.message : String(error) };
  }
  try {
    await (await jetstreamManager(nc, { timeout: timeoutMs })).getAccountInfo();
    return { ok: true };
  } catch (error) {
    return { ok: false, problem: "no-jetstream", reason: error instanceof Error ? error.message : String(error) };
  } finally {
    await nc.close().catch(() => undefined);
  }
}

/** What to tell a person whose NATS failed the check: how to start it, or the way without it. */
export function natsAdvice(url: string, check: Exclude<NatsCheck, { ok: true }>): string {
  if (check.problem === "no-jetstream") {
    return `NATS at ${url} answers but JetStream is off: restart it with \`nats-server -js\`, or run \`tessera up --embedded\` (one process, no NATS)`;
  }
  return (
    `cannot reach NATS at ${url} (${check.reason}). Start it with \`nats-server -js\` ` +
    "(or `docker run -p 4222:4222 nats -js`), point NATS_URL at yours, or run `tessera up --embedded` (one process, no NATS)"
  );
}
