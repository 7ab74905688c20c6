import { describe, expect, it } from "vitest";
import { RetryBudget } from "./retry-budget.js";

describe("RetryBudget", () => {
  it("allows minRetries at start, then a fraction of requests", () => {
    const budget = new RetryBudget({ ratio: 0.25, minRetries: 2 });
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([true, true, false]);
    for (let i = 0; i < 3; i++) budget.requested();
    expect(budget.tryRetry()).toBe(false);
    budget.requested();
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
  });

  it("never banks more than its cap", () => {
    const budget = new RetryBudget({ ratio: 1, minRetries: 3 });
    for (let i = 0; i < 100; i++) budget.requested();
    let allowed = 0;
    while (budget.tryRetry()) allowed++;
    expect(allowed).toBe(3);
  });
});
