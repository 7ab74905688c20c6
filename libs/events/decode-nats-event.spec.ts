import { headers } from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { natsHeaderReader } from "./decode-nats-event.js";

describe("natsHeaderReader()", () => {
  it("finds a header by its lowercase name whatever case it was sent in, the first value when repeated", () => {
    const h = headers();
    h.append("Ce-Id", "a1");
    h.append("TRACEPARENT", "00-abc-def-01");
    h.append("ce-source", "first");
    h.append("Ce-Source", "second");
    const header = natsHeaderReader(h);
    expect(header("ce-id")).toBe("a1");
    expect(header("traceparent")).toBe("00-abc-def-01");
    expect(header("ce-source")).toBe("first");
    expect(header("ce-type")).toBeUndefined();
  });

  it("reads nothing from a message without headers", () => {
    expect(natsHeaderReader(undefined)("ce-id")).toBeUndefined();
  });
});
