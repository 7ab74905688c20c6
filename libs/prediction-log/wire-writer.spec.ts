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

  it("writes packed doubles from a Float64Array (copied as bytes), a view into a larger buffer and a plain array alike", () => {
    const values = [0.1, -0, Number.NaN, -Infinity, 1e300, Math.fround(0.42)];
    const expected = hex(new WireWriter(8).packedDoubles(values).finish());
    // Tag-less payload: the byte length (48), then each double little-endian; 0.1 is 9a99 9999 9999 b93f.
    expect(expected.slice(0, 18)).toBe("309a9999999999b93f");
    const backing = new Float64Array([7, ...values, 7]);
    for (const typed of [Float64Array.from(values), backing.subarray(1, 1 + values.length)]) {
      expect(hex(new WireWriter(8).packedDoubles(typed).finish())).toBe(expected);
      // The portable path (a big-endian host) writes the same.
      expect(hex(new WireWriter(8).packedDoubles(typed, false).finish())).toBe(expected);
    }
  });

  it("starts empty after reset, also after a message that grew it past 64 KiB", () => {
    const w = new WireWriter();
    expect(w.string("z".repeat(70_000)).finish().length).toBe(3 + 70_000);
    expect(hex(w.reset().string("a").finish())).toBe("0161");
    expect(hex(w.reset().finish())).toBe("");
  });
});
