import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { RouteSchema } from "../../../libs/gen/tessera/router/v1/router_pb.js";
import { decideRoute, versionAt } from "./route-decision.js";
import { stableBucket } from "./stable-hash.js";

const route = create(RouteSchema, {
  model: "fraud",
  splits: [
    { version: 1, weight: 90 },
    { version: 2, weight: 10 },
  ],
});

/** A deterministic stand-in for Math.random: 0, 1/n, 2/n, … */
function sweep(n: number): () => number {
  let i = 0;
  return () => (i++ % n) / n;
}

describe("decideRoute()", () => {
  it("splits traffic by weight", () => {
    const random = sweep(100);
    const counts = new Map<number, number>();
    for (let i = 0; i < 100; i++) {
      const { version, kind } = decideRoute(route, { random });
      expect(kind).toBe("split");
      counts.set(version, (counts.get(version) ?? 0) + 1);
    }
    expect(counts).toEqual(new Map([[1, 90], [2, 10]]));
  });

  it("gives a sticky key the same version every time, whatever the random draw", () => {
    const first = decideRoute(route, { stickyKey: "user-42", random: () => 0 });
    for (const r of [0.1, 0.5, 0.99]) expect(decideRoute(route, { stickyKey: "user-42", random: () => r })).toEqual(first);
    expect(first.kind).toBe("sticky");
  });

  it("spreads sticky keys by the weights", () => {
    let v2 = 0;
    for (let i = 0; i < 2000; i++) if (decideRoute(route, { stickyKey: `user-${i}`, random: () => 0 }).version === 2) v2++;
    // 10% of 2000 is 200; a hash that ignored the weights would be far off.
    expect(v2).toBeGreaterThan(120);
    expect(v2).toBeLessThan(280);
  });

  it("pins the version asked for by header", () => {
    expect(decideRoute(route, { pinnedVersion: 7, stickyKey: "user-42", random: () => 0 })).toMatchObject({ version: 7, kind: "pinned" });
  });

  it("mirrors the shadow percentage", () => {
    const shadowed = create(RouteSchema, { model: route.model, splits: route.splits, shadow: { version: 3, percent: 25 } });
    const random = sweep(100);
    let mirrored = 0;
    for (let i = 0; i < 100; i++) {
      const decision = decideRoute(shadowed, { random });
      if (decision.shadowVersion !== undefined) {
        expect(decision.shadowVersion).toBe(3);
        mirrored++;
      }
    }
    expect(mirrored).toBeGreaterThan(0);
    expect(decideRoute(route, { random: () => 0 }).shadowVersion).toBeUndefined();
  });
});

describe("versionAt()", () => {
  it("maps percentiles onto cumulative weights", () => {
    expect([0, 89, 90, 99].map((p) => versionAt(route, p))).toEqual([1, 1, 2, 2]);
  });
});

describe("stableBucket()", () => {
  it("is a fixed function of the key (identical on every router instance)", () => {
    // Pinned values: a change here would move every sticky user.
    expect(stableBucket("user-42", 100)).toBe(stableBucket("user-42", 100));
    expect([stableBucket("a", 1_000_000), stableBucket("b", 1_000_000)]).toEqual([PINNED_A, PINNED_B]);
  });
});

const PINNED_A = 926_610;
const PINNED_B = 540_566;
