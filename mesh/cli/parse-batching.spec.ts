import { describe, expect, it } from "vitest";
import { parseBatching } from "./parse-batching.js";
import { readJsonArgument } from "./read-json-argument.js";
import { UsageError } from "./usage-error.js";

const noFiles = (path: string): string => {
  throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
};

describe("parseBatching()", () => {
  it("reads a BatchingConfig in protobuf JSON, camelCase or proto names", () => {
    const config = parseBatching('{"enabled": true, "max_batch_size": 32, "maxQueueDelayUs": "2000", "preferredBatchSizes": [8, 16]}', noFiles);
    expect(config.enabled).toBe(true);
    expect(config.maxBatchSize).toBe(32);
    expect(config.maxQueueDelayUs).toBe(2000n);
    expect(config.preferredBatchSizes).toEqual([8, 16]);
  });

  it("reads @file through the reader it is given", () => {
    expect(parseBatching("@b.json", () => '{"maxBatchSize": 4}').maxBatchSize).toBe(4);
  });

  it("names --batching and the unknown field when the JSON does not fit", () => {
    expect(() => parseBatching('{"maxBatch": 4}', noFiles)).toThrow(UsageError);
    expect(() => parseBatching('{"maxBatch": 4}', noFiles)).toThrow(/--batching: .*maxBatch/);
  });
});

describe("readJsonArgument()", () => {
  it("returns inline text as it is", () => {
    expect(readJsonArgument('{"a": 1}', "--input", noFiles)).toBe('{"a": 1}');
  });

  it("says which file is missing", () => {
    expect(() => readJsonArgument("@nope.json", "--input", noFiles)).toThrow("--input: cannot read nope.json: no such file");
  });

  it("refuses a bare @", () => {
    expect(() => readJsonArgument("@", "--input", noFiles)).toThrow('--input: "@" needs a file name');
  });
});
