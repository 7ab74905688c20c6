import { redactUrl } from "../../libs/nats/index.js";
import { startNatsServer } from "../../libs/testing/index.js";
import { checkNats, DEFAULT_NATS_URL } from "./check-nats.js";

/** The NATS a short-lived mesh (the demo) can use, and how it was found. */
export type FoundNats =
  | { readonly kind: "nats"; readonly url: string; readonly how: string; stop(): Promise<void> }
  | { readonly kind: "none"; readonly why: string };

/**
 * NATS_URL when set, and it must answer: an operator who named a server
 * meant that one, so one that does not answer is an error, never a silent
 * fallback. Without NATS_URL: the default address when answering; else a
 * temporary `nats-server -js` on a free port (stopped, with its store, by
 * stop()); else none, with why, so the caller can fall back to the
 * embedded backends and say so.
 */
export async function findNats(env: Readonly<Record<string, string | undefined>>): Promise<FoundNats> {
  const tried: string[] = [];
  const given = env.NATS_URL;
  if (given) {
    const check = await checkNats(given);
    if (check.ok) return { kind: "nats", url: given, how: "NATS_URL", stop: async () => {} };
    throw new Error(`NATS_URL=${redactUrl(given)} is set but ${check.problem === "no-jetstream" ? "JetStream is off there (restart it with `nats-server -js`)" : "does not answer"} (${check.reason}); fix it, or unset NATS_URL to let the demo find or start a NATS itself`);
  }
  if (given !== DEFAULT_NATS_URL) {
    const check = await checkNats(DEFAULT_NATS_URL);
    if (check.ok) return { kind: "nats", url: DEFAULT_NATS_URL, how: "the default address", stop: async () => {} };
    tried.push(`${DEFAULT_NATS_URL}: ${check.reason}`);
  }
  try {
    const server = await startNatsServer({ jetstream: true });
    return { kind: "nats", url: server.url, how: "a temporary nats-server started for this run", stop: () => server.stop() };
  } catch (error) {
    tried.push(`starting nats-server -js: ${error instanceof Error ? error.message.split("\n")[0] : String(error)}`);
  }
  return { kind: "none", why: tried.join("; ") };
}
