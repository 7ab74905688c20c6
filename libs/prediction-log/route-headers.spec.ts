import { describe, expect, it } from "vitest";
import { ROUTE_REASON_HEADER, ROUTE_REVISION_HEADER, routeFromHeaders } from "./route-headers.js";

const from = (pairs: Record<string, string>) => (name: string) => pairs[name];

describe("routeFromHeaders()", () => {
  it("reads the router's reason and route revision", () => {
    expect(routeFromHeaders(from({ [ROUTE_REASON_HEADER]: "sticky", [ROUTE_REVISION_HEADER]: "42" }))).toEqual({ reason: "sticky", revision: 42n });
    expect(routeFromHeaders(from({ [ROUTE_REASON_HEADER]: "shadow" }))).toEqual({ reason: "shadow", revision: 0n });
  });

  it("has nothing for a call that did not come through a router, or a reason it does not know", () => {
    expect(routeFromHeaders(from({}))).toBeUndefined();
    expect(routeFromHeaders(from({ [ROUTE_REASON_HEADER]: "because" }))).toBeUndefined();
  });

  it("takes a revision that is not a plain number as 0", () => {
    expect(routeFromHeaders(from({ [ROUTE_REASON_HEADER]: "split", [ROUTE_REVISION_HEADER]: "-1" }))?.revision).toBe(0n);
    expect(routeFromHeaders(from({ [ROUTE_REASON_HEADER]: "split", [ROUTE_REVISION_HEADER]: "9".repeat(30) }))?.revision).toBe(0n);
  });
});
