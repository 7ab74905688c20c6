import { describe, expect, it } from "vitest";
import { LatestPerEntity } from "./pick-latest.js";

const row = (entityKey: string, eventTimeMs: number, tag: string) => ({ entityKey, eventTimeMs, values: { tag: { $typeName: "tessera.feature.v1.FeatureValue" as const, kind: { case: "stringValue" as const, value: tag } } } });

describe("LatestPerEntity", () => {
  it("keeps the latest row per entity inside the window, ignoring rows after the end", () => {
    const pick = new LatestPerEntity(100, 200);
    pick.offer(row("a", 150, "a150"));
    pick.offer(row("a", 250, "a250-future"));
    pick.offer(row("a", 120, "a120-older"));
    pick.offer(row("b", 50, "b50-before"));
    pick.offer(row("b", 200, "b200"));
    pick.offer(row("c", 200, "c-first"));
    pick.offer(row("c", 200, "c-second"));
    const tags = Object.fromEntries(pick.rows().map((r) => [r.entityKey, r.values.tag?.kind.value]));
    expect(tags).toEqual({ a: "a150", b: "b200", c: "c-second" });
    expect(pick.afterEnd).toBe(1);
    expect(pick.beforeStart).toBe(1);
  });
});
