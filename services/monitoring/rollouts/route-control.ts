/**
 * What the rollout controller needs from the router: the seam between the
 * pure state machine here and the router's routes (per model, weighted
 * splits across versions, stored in NATS KV, SetRoute with compare-and-set
 * on the revision). The router's client implements it at merge time.
 */
export interface RouteControl {
  /** The model's route now; undefined when it has none. */
  getRoute(model: string): Promise<RouteSnapshot | undefined>;
  /**
   * Sets the weights if the route is still at `expectedRevision`. A route
   * someone else changed meanwhile answers `conflict` with what it is now,
   * and nothing is written.
   */
  setWeights(model: string, weights: Readonly<Record<number, number>>, expectedRevision: number): Promise<{ revision: number } | { conflict: RouteSnapshot }>;
  /** Points the alias at the version (promotion). */
  moveAlias(model: string, alias: string, version: number): Promise<void>;
}

export interface RouteSnapshot {
  revision: number;
  /** Percent of traffic by version number; sums to 100. */
  weights: Readonly<Record<number, number>>;
}
