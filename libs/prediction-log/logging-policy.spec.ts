import { describe, expect, it } from "vitest";
import { INPUTS_TAG, loggingPolicyFromTags, SAMPLE_RATE_TAG } from "./logging-policy.js";

const fallback = { sampleRate: 1, inputRows: "all" as const };

describe("loggingPolicyFromTags()", () => {
  it.each([
    [{}, fallback],
    [{ [SAMPLE_RATE_TAG]: "0.1" }, { sampleRate: 0.1, inputRows: "all" }],
    [{ [INPUTS_TAG]: "none" }, { sampleRate: 1, inputRows: 0 }],
    [{ [INPUTS_TAG]: "rows:4", [SAMPLE_RATE_TAG]: "0" }, { sampleRate: 0, inputRows: 4 }],
  ])("reads %o", (tags, expected) => {
    expect(loggingPolicyFromTags(tags, fallback)).toEqual(expected);
  });

  it.each([
    [{ [SAMPLE_RATE_TAG]: "1.5" }, SAMPLE_RATE_TAG],
    [{ [SAMPLE_RATE_TAG]: "" }, SAMPLE_RATE_TAG],
    [{ [SAMPLE_RATE_TAG]: "half" }, SAMPLE_RATE_TAG],
    [{ [INPUTS_TAG]: "some" }, INPUTS_TAG],
    [{ [INPUTS_TAG]: "rows:-1" }, INPUTS_TAG],
  ])("refuses %o naming the tag", (tags, tag) => {
    expect(() => loggingPolicyFromTags(tags, fallback)).toThrow(tag);
  });
});
