import { describe, expect, it } from "vitest";
import { pickReplica, type PickOptions } from "./pick-replica.js";

function options(load: Record<string, number>, extra: Partial<PickOptions<string>> = {}): PickOptions<string> {
  return {
    candidates: Object.keys(load),
    id: (r) => r,
    outstanding: (r) => load[r] ?? 0,
    ejected: () => false,
    maxPending: 100,
    random: Math.random,
    ...extra,
  };
}

describe("pickReplica()", () => {
  it("picks the less loaded of two", () => {
    for (let i = 0; i < 50; i++) expect(pickReplica(options({ a: 5, b: 1 }))).toEqual({ replica: "b" });
  });

  it("never picks the busiest of three (it loses every pair it is drawn in)", () => {
    for (let i = 0; i < 100; i++) expect(pickReplica(options({ a: 1, b: 2, c: 9 }))).not.toEqual({ replica: "c" });
  });

  it("skips ejected replicas while others remain, and uses them as a last resort", () => {
    for (let i = 0; i < 20; i++) expect(pickReplica(options({ a: 0, b: 9 }, { ejected: (r) => r === "a" }))).toEqual({ replica: "b" });
    expect(pickReplica(options({ a: 0 }, { ejected: () => true }))).toEqual({ replica: "a" });
  });

  it("skips replicas already tried for this request", () => {
    expect(pickReplica(options({ a: 0, b: 9 }, { exclude: new Set(["a"]) }))).toEqual({ replica: "b" });
    expect(pickReplica(options({ a: 0 }, { exclude: new Set(["a"]) }))).toEqual({ none: "all-tried" });
  });

  it("opens the circuit on replicas at max pending", () => {
    expect(pickReplica(options({ a: 3, b: 1 }, { maxPending: 3 }))).toEqual({ replica: "b" });
    expect(pickReplica(options({ a: 3, b: 3 }, { maxPending: 3 }))).toEqual({ none: "circuit-open" });
  });

  it("says when there is nothing to pick", () => {
    expect(pickReplica(options({}))).toEqual({ none: "no-replica" });
  });
});
