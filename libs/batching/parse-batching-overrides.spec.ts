import { describe, expect, it } from "vitest";
import { parseBatchingOverrides } from "./parse-batching-overrides.js";

describe("parseBatchingOverrides()", () => {
  it("reads the fields it is given and nothing else", () => {
    expect(parseBatchingOverrides('{"maxBatchSize": 32, "preferredBatchSizes": [8, 16], "defaultQueuePolicy": {"timeoutAction": "delay"}}')).toEqual({
      maxBatchSize: 32,
      preferredBatchSizes: [8, 16],
      defaultQueuePolicy: { timeoutAction: "delay" },
    });
    expect(parseBatchingOverrides("")).toBeUndefined();
  });

  it.each([
    ["{nope", /not JSON/],
    ["[1]", /JSON object/],
    ['{"maxBatch": 3}', /unknown field "maxBatch"/],
    ['{"maxBatchSize": -1}', /maxBatchSize must be a whole number/],
    ['{"enabled": "yes"}', /enabled must be true or false/],
    ['{"preferredBatchSizes": [8, 2.5]}', /preferredBatchSizes\[1\]/],
    ['{"queuePolicies": {"0": {}}}', /"0" is not a priority level/],
    ['{"queuePolicies": {"1": {"timeoutAction": "drop"}}}', /queuePolicies.1.timeoutAction must be "reject" or "delay"/],
  ])("refuses %s", (text, message) => {
    expect(() => parseBatchingOverrides(text)).toThrow(message);
  });
});
