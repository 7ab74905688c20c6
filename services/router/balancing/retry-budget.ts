export interface RetryBudgetOptions {
  /** Retries allowed per request, on average. Default 0.2 (Envoy's retry budget default). */
  ratio?: number;
  /** Retries allowed with no requests seen yet, so a quiet router can still retry. Default 10. */
  minRetries?: number;
}

/**
 * Retries at most a fraction of requests: every request earns `ratio` of a
 * token, every retry spends one, and the bank holds at most what
 * minRetries allows. When replicas are failing en masse, retries stop
 * multiplying the load instead of adding to it.
 */
export class RetryBudget {
  private readonly ratio: number;
  private readonly cap: number;
  private tokens: number;

  constructor(options: RetryBudgetOptions = {}) {
    this.ratio = options.ratio ?? 0.2;
    this.cap = Math.max(1, options.minRetries ?? 10);
    this.tokens = this.cap;
  }

  requested(): void {
    this.tokens = Math.min(this.cap, this.tokens + this.ratio);
  }

  /** Spends a token; false when the budget is spent. */
  tryRetry(): boolean {
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
