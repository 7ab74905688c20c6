import { describe, expect, it } from "vitest";
import { listeningAddresses } from "./listening-line.js";

describe("listeningAddresses()", () => {
  it("reads both addresses from libs/host's listening line", () => {
    const line = JSON.stringify({ time: "t", level: "info", service: "registry", msg: "listening", grpc: "127.0.0.1:41001", http: "127.0.0.1:41002" });
    expect(listeningAddresses(line)).toEqual({ grpc: "127.0.0.1:41001", http: "127.0.0.1:41002" });
  });

  it.each([
    ["another message", JSON.stringify({ msg: "stopped", grpc: "a:1", http: "b:2" })],
    ["a line that is not JSON", 'registry: "listening" failed'],
    ["a listening line without the http address", JSON.stringify({ msg: "listening", grpc: "a:1" })],
    ["JSON that is not an object", '"listening"'],
  ])("answers undefined for %s", (_label, line) => {
    expect(listeningAddresses(line)).toBeUndefined();
  });
});
