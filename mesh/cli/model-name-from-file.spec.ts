import { describe, expect, it } from "vitest";
import { modelNameFor } from "./model-name-from-file.js";
import { UsageError } from "./usage-error.js";

describe("modelNameFor()", () => {
  it("takes --name, else the file's name without .onnx", () => {
    expect(modelNameFor("models/fraud.onnx", undefined)).toBe("fraud");
    expect(modelNameFor("Weird File.onnx", "fraud")).toBe("fraud");
  });

  it("refuses a file name that is no model name with a usage error suggesting --name", () => {
    expect(() => modelNameFor("/tmp/Fraud Model v2.onnx", undefined)).toThrow(UsageError);
    expect(() => modelNameFor("/tmp/Fraud Model v2.onnx", undefined)).toThrow(/"Fraud Model v2" is not a valid model name.*; pass --name, e.g. --name fraud-model-v2$/);
    expect(() => modelNameFor("a.onnx", "Bad Name")).toThrow(/--name "Bad Name" is not a valid model name/);
  });
});
