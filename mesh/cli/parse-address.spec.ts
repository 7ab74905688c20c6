import { describe, expect, it } from "vitest";
import { parseAddress } from "./parse-address.js";

describe("parseAddress()", () => {
  it.each([
    ["127.0.0.1:50051", "127.0.0.1:50051"],
    ["registry:50051", "registry:50051"],
    ["[::1]:8001", "[::1]:8001"],
    ["http://localhost:8001/", "localhost:8001"],
  ])("reads %s as %s", (text, address) => {
    expect(parseAddress(text)).toBe(address);
  });

  it.each(["localhost", "localhost:0", "localhost:70000", ":8001", "a b:1"])("refuses %j", (text) => {
    expect(() => parseAddress(text)).toThrow("is not host:port");
  });
});
