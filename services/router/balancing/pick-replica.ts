export interface PickOptions<R> {
  candidates: readonly R[];
  id: (replica: R) => string;
  /** Calls this router has in flight to the replica. */
  outstanding: (replicaId: string) => number;
  ejected: (replicaId: string) => boolean;
  /** Replicas already tried for this request (retries go elsewhere). */
  exclude?: ReadonlySet<string>;
  /** Per-replica circuit breaker: at this many in flight it takes no more. */
  maxPending: number;
  random: () => number;
}

export type Pick<R> = { replica: R } | { none: "no-replica" | "all-ejected" | "circuit-open" | "all-tried" };

/**
 * Power of two choices over least outstanding requests: two random healthy
 * replicas, the less busy wins. Near-optimal load spread without a global
 * scan or herding onto one "least loaded" replica that every router sees.
 * Ejected replicas are used only when nothing else is left: an ejection is
 * a guess, and answering beats refusing.
 */
export function pickReplica<R>(options: PickOptions<R>): Pick<R> {
  const { candidates, id, outstanding, exclude } = options;
  if (candidates.length === 0) return { none: "no-replica" };
  const untried = exclude && exclude.size > 0 ? candidates.filter((r) => !exclude.has(id(r))) : candidates;
  if (untried.length === 0) return { none: "all-tried" };
  const open = untried.filter((r) => outstanding(id(r)) < options.maxPending);
  if (open.length === 0) return { none: "circuit-open" };
  const healthy = open.filter((r) => !options.ejected(id(r)));
  const pool = healthy.length > 0 ? healthy : open;
  if (pool.length === 1) return { replica: pool[0]! };
  const first = Math.floor(options.random() * pool.length);
  let second = Math.floor(options.random() * (pool.length - 1));
  if (second >= first) second++;
  const a = pool[first]!;
  const b = pool[second]!;
  return { replica: outstanding(id(b)) < outstanding(id(a)) ? b : a };
}
