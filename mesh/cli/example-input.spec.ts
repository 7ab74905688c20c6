import { describe, expect, it } from "vitest";
import { exampleInput } from "./example-input.js";

describe("exampleInput()", () => {
  it("writes one row of the fraud model's 16 features", () => {
    const parsed = JSON.parse(exampleInput("fraud")!) as { features: number[][] };
    expect(parsed.features).toHaveLength(1);
    expect(parsed.features[0]).toHaveLength(16);
  });

  it("answers undefined for unknown models and for inputs too long for one line", () => {
    expect(exampleInput("nope")).toBeUndefined();
    expect(exampleInput("wide")).toBeUndefined();
  });
});
