import { describe, expect, it } from "vitest";
import { WireType, WireWriter } from "./wire-writer.js";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("WireWriter", () => {
  it("moves a nested payload up when its length needs two or three varint bytes", () => {
    const w = new WireWriter(16);
    const outer = w.tag(1, WireType.LengthDelimited).fork();
    w.tag(2, WireType.LengthDelimited).string("x".repeat(200));
    w.join(outer);
    const bytes = w.finish();
    // 0a, outer length 203 (cb 01), 12, inner length 200 (c8 01), then the string.
    expect(hex(bytes.subarray(0, 6))).toBe("0acb0112c801");
    expect(bytes.length).toBe(3 + 203);
    expect(hex(new WireWriter(4).string("y".repeat(20_000)).finish().subarray(0, 3))).toBe("a09c01");
  });

  it("writes negative int64 and int32 as ten-byte two's complement varints", () => {
    expect(hex(new WireWriter().varint64(-1n).finish())).toBe("ffffffffffffffffff01");
    expect(hex(new WireWriter().int32(-2).finish())).toBe("feffffffffffffffff01");
    expect(hex(new WireWriter().varint64(2n ** 64n - 1n).finish())).toBe("ffffffffffffffffff01");
  });

  it("starts empty after reset, also after a message that grew it past 64 KiB", () => {
    const w = new WireWriter();
    expect(w.string("z".repeat(70_000)).finish().length).toBe(3 + 70_000);
    expect(hex(w.reset().string("a").finish())).toBe("0161");
    expect(hex(w.reset().finish())).toBe("");
  });
});
