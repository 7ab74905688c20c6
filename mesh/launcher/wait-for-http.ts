import { setTimeout as sleep } from "node:timers/promises";

export interface WaitForHttpOptions {
  /** Longest to keep asking, ms. */
  readonly timeoutMs: number;
  /** Between attempts, ms. Default 200: a service starts in well under a second, so this costs little. */
  readonly intervalMs?: number;
  /** Stop early (e.g. the process exited): the wait then answers false. */
  readonly signal?: AbortSignal;
}

/**
 * Polls GET `url` until it answers 200. Answers true then, false when the
 * time is up or the signal fires. Connection errors count as "not yet".
 */
export async function waitForHttp(url: string, options: WaitForHttpOptions): Promise<boolean> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 200;
  while (!options.signal?.aborted) {
    if (await answersOk(url)) return true;
    if (Date.now() + interval > deadline) return false;
    await sleep(interval, undefined, { signal: options.signal }).catch(() => undefined);
  }
  return false;
}

/** One GET; true on 200. */
export async function answersOk(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false;
  }
}
