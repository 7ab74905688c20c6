import { setTimeout as sleep } from "node:timers/promises";
import type { ReplicaReadiness } from "../launcher/replica-readiness.js";
import type { ServiceEndpoint } from "../launcher/running-mesh.js";
import { answersOk } from "../launcher/wait-for-http.js";

export interface WatchUntilReadyOptions {
  /** Stops the watch (Ctrl-C, or a service failed). */
  readonly signal: AbortSignal;
  /** Says a replica turned ready. */
  readonly out: (line: string) => void;
  /** Between polls of the pending replicas' /readyz, ms. Default 2 s: a person reads the line, no need to be quicker. */
  readonly intervalMs?: number;
}

/**
 * Says when a replica that was not ready at start-up turns ready (e.g. once
 * its model is pushed). Each wait removes its own abort listener when it
 * ends (timers/promises does), so a long `tessera up` does not pile one
 * listener per poll onto the signal (MaxListenersExceededWarning after 11).
 */
export async function watchUntilReady(
  replicas: readonly ServiceEndpoint[],
  readiness: ReadonlyMap<string, ReplicaReadiness>,
  options: WatchUntilReadyOptions,
): Promise<void> {
  const { signal } = options;
  const intervalMs = options.intervalMs ?? 2_000;
  const pending = replicas.filter((r) => {
    const state = readiness.get(r.name)?.state;
    return state === "waiting" || state === "loading";
  });
  while (pending.length > 0 && !signal.aborted) {
    await sleep(intervalMs, undefined, { signal }).catch(() => undefined);
    for (const replica of [...pending]) {
      if (signal.aborted) return;
      if (await answersOk(`http://${replica.httpAddress}/readyz`)) {
        pending.splice(pending.indexOf(replica), 1);
        options.out(`${replica.name} is ready: serving ${replica.serve.join(", ")}\n`);
      }
    }
  }
}
