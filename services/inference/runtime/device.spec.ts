import { describe, expect, it } from "vitest";
import { formatDevice, parseDevice } from "./device.js";

describe("parseDevice()", () => {
  it.each([
    ["cpu", { kind: "cpu" }],
    ["CPU", { kind: "cpu" }],
    ["cuda:0", { kind: "cuda", index: 0 }],
    ["cuda:3", { kind: "cuda", index: 3 }],
    ["cuda", { kind: "cuda", index: 0 }],
  ])("reads %s", (text, device) => {
    expect(parseDevice(text)).toEqual(device);
  });

  it.each(["gpu", "cuda:", "cuda:-1", "cuda:x", "cuda:1:2", "", "rocm:0"])("refuses %j naming the accepted forms", (text) => {
    expect(() => parseDevice(text)).toThrow(/use "cpu" or "cuda:N"/);
  });

  it("round-trips through formatDevice()", () => {
    expect(formatDevice(parseDevice("cuda:2"))).toBe("cuda:2");
    expect(formatDevice(parseDevice("cpu"))).toBe("cpu");
  });
});
