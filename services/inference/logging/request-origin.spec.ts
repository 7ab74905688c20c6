import { describe, expect, it } from "vitest";
import { requestOrigin } from "./request-origin.js";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("requestOrigin()", () => {
  it("reads the trace id, the router's decision and the sticky key a routed call carries", () => {
    const headers = new Headers({
      traceparent: `00-${TRACE}-00f067aa0ba902b7-01`,
      "x-tessera-route-reason": "sticky",
      "x-tessera-route-revision": "7",
      "x-tessera-key": "user-17",
    });
    expect(requestOrigin(headers)).toEqual({ traceId: TRACE, entityKey: "user-17", route: { reason: "sticky", revision: 7n } });
  });

  it("names the entity of an entity-keyed call with one key, and none for several", () => {
    expect(requestOrigin(new Headers({ "x-tessera-key": "sticky" }), ["card-1"]).entityKey).toBe("card-1");
    expect(requestOrigin(new Headers(), ["card-1", "card-2"]).entityKey).toBeUndefined();
  });

  it("has nothing for a bare direct call, and ignores a malformed or all-zero traceparent", () => {
    expect(requestOrigin(new Headers())).toEqual({});
    expect(requestOrigin(new Headers({ traceparent: "00-xyz-00f067aa0ba902b7-01" }))).toEqual({});
    expect(requestOrigin(new Headers({ traceparent: `00-${"0".repeat(32)}-00f067aa0ba902b7-01` }))).toEqual({});
  });
});
