import { describe, expect, it } from "vitest";
import { decodeRpcStatus, encodeRpcStatus } from "./rpc-status.js";

const bytes = (...values: Array<number | string>) => new Uint8Array(values.flatMap((v) => (typeof v === "string" ? [...Buffer.from(v)] : [v])));

describe("encodeRpcStatus()", () => {
  it.each([
    ["code and message", { code: 5, message: "gone", details: [] }, bytes(0x08, 5, 0x12, 4, "gone")],
    ["an Any detail (type_url 1, value 2) as field 3", { code: 3, message: "bad", details: [{ typeUrl: "t/x", value: bytes(1, 2) }] }, bytes(0x08, 3, 0x12, 3, "bad", 0x1a, 9, 0x0a, 3, "t/x", 0x12, 2, 1, 2)],
    ["proto3 defaults are left out", { code: 0, message: "", details: [{ typeUrl: "", value: bytes() }] }, bytes(0x1a, 0)],
    ["a code over 127 is a multi-byte varint", { code: 300, message: "", details: [] }, bytes(0x08, 0xac, 0x02)],
  ])("%s", (_name, status, encoded) => {
    expect(encodeRpcStatus(status)).toEqual(encoded);
    expect(decodeRpcStatus(encoded)).toEqual(status);
  });
});

describe("decodeRpcStatus()", () => {
  it("skips fields it does not know, in the Status and in an Any", () => {
    const encoded = bytes(0x20, 7, 0x08, 9, 0x1a, 9, 0x0a, 3, "t/y", 0x18, 1, 0x12, 0, 0x2a, 1, "z", 0x12, 2, "ok");
    expect(decodeRpcStatus(encoded)).toEqual({ code: 9, message: "ok", details: [{ typeUrl: "t/y", value: bytes() }] });
  });

  it("keeps several details in order", () => {
    const status = { code: 8, message: "full", details: [{ typeUrl: "a", value: bytes(1) }, { typeUrl: "b", value: bytes(2) }] };
    expect(decodeRpcStatus(encodeRpcStatus(status))).toEqual(status);
  });

  it.each([
    ["a length past the end", bytes(0x12, 10, "ab")],
    ["a truncated varint", bytes(0x08, 0x80)],
  ])("throws on %s", (_name, encoded) => {
    expect(() => decodeRpcStatus(encoded)).toThrow();
  });
});
