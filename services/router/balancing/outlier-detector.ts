export interface OutlierOptions {
  /** Consecutive failures that eject a replica. Default 5, Envoy's. */
  consecutiveFailures?: number;
  /** Failures within `windowMs` that eject a replica even with successes between. Default 20. */
  windowFailures?: number;
  /** Default 10 s. */
  windowMs?: number;
  /** First ejection's length; each further ejection of the same replica doubles it. Default 5 s. */
  baseEjectionMs?: number;
  /** Longest ejection. Default 60 s. */
  maxEjectionMs?: number;
  /**
   * Most of a version's replicas that may be out at once, percent. Default
   * 50: ejecting everything turns a partial outage into a full one.
   */
  maxEjectedPercent?: number;
}

interface Health {
  consecutive: number;
  /** Times (ms) of recent failures, oldest first. */
  recent: number[];
  ejectedUntil: number;
  ejections: number;
}

/**
 * Outlier ejection, pure: callers report each attempt's outcome and the
 * time. Only failures that say the replica is unwell count (UNAVAILABLE,
 * timeouts, INTERNAL) — a caller's bad tensor says nothing about it.
 */
export class OutlierDetector {
  private readonly health = new Map<string, Health>();
  private readonly options: Required<OutlierOptions>;

  constructor(options: OutlierOptions = {}) {
    this.options = {
      consecutiveFailures: options.consecutiveFailures ?? 5,
      windowFailures: options.windowFailures ?? 20,
      windowMs: options.windowMs ?? 10_000,
      baseEjectionMs: options.baseEjectionMs ?? 5_000,
      maxEjectionMs: options.maxEjectionMs ?? 60_000,
      maxEjectedPercent: options.maxEjectedPercent ?? 50,
    };
  }

  succeeded(replicaId: string): void {
    const health = this.health.get(replicaId);
    if (health) health.consecutive = 0;
  }

  /**
   * Records a failure; returns true when it ejected the replica. `peers` is
   * every replica in the same pool (this one included), for the cap.
   */
  failed(replicaId: string, nowMs: number, peers: readonly string[]): boolean {
    const health = this.entry(replicaId);
    health.consecutive++;
    health.recent.push(nowMs);
    while (health.recent.length > 0 && nowMs - health.recent[0]! > this.options.windowMs) health.recent.shift();
    if (this.isEjected(replicaId, nowMs)) return false;
    const tripped = health.consecutive >= this.options.consecutiveFailures || health.recent.length >= this.options.windowFailures;
    if (!tripped) return false;
    const ejected = peers.filter((peer) => peer !== replicaId && this.isEjected(peer, nowMs)).length;
    if (((ejected + 1) / Math.max(1, peers.length)) * 100 > this.options.maxEjectedPercent) return false;
    const length = Math.min(this.options.maxEjectionMs, this.options.baseEjectionMs * 2 ** health.ejections);
    health.ejections++;
    health.ejectedUntil = nowMs + length;
    health.consecutive = 0;
    health.recent = [];
    return true;
  }

  isEjected(replicaId: string, nowMs: number): boolean {
    return (this.health.get(replicaId)?.ejectedUntil ?? 0) > nowMs;
  }

  /** When the replica's current ejection ends (0 when it is not ejected). */
  ejectedUntil(replicaId: string): number {
    return this.health.get(replicaId)?.ejectedUntil ?? 0;
  }

  /** Forgets a replica that left membership. */
  forget(replicaId: string): void {
    this.health.delete(replicaId);
  }

  private entry(replicaId: string): Health {
    let health = this.health.get(replicaId);
    if (!health) this.health.set(replicaId, (health = { consecutive: 0, recent: [], ejectedUntil: 0, ejections: 0 }));
    return health;
  }
}
