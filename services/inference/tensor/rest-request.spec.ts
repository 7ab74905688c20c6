import { describe, expect, it } from "vitest";
import { Code } from "../../../libs/errors/index.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { parseRestRequest, parseRestRequestJson } from "./rest-request.js";
import { thrownBy } from "./spec-samples.js";

const features = { name: "features", datatype: "FP32", shape: [1, 2], data: [[0.5, 1]] };

describe("parseRestRequest()", () => {
  it("reads id, parameters, inputs in order and requested outputs", () => {
    const request = parseRestRequest({
      id: "r1",
      parameters: { priority: 2, tag: "a", sample: true },
      inputs: [features, { name: "mask", datatype: "BOOL", shape: [1], data: [true] }],
      outputs: [{ name: "scores" }, { name: "label", parameters: { binary_data: true } }],
    });
    expect(request.id).toBe("r1");
    expect(request.parameters).toEqual({ priority: 2, tag: "a", sample: true });
    expect([...request.inputs.keys()]).toEqual(["features", "mask"]);
    expect(request.inputs.get("features")).toEqual({ dtype: DataType.FLOAT32, shape: [1, 2], data: new Float32Array([0.5, 1]) });
    expect(request.outputs).toEqual([
      { name: "scores", binary: false },
      { name: "label", binary: true },
    ]);
    expect(request.binaryOutput).toBe(false);
  });

  it("leaves id and outputs out when the request has none", () => {
    const request = parseRestRequest({ inputs: [features] });
    expect("id" in request).toBe(false);
    expect(request.outputs).toBeUndefined();
    expect(request.parameters).toEqual({});
  });

  it("takes binary inputs from the body's tail in input order", () => {
    const tail = new Uint8Array([0, 0, 0x80, 0x3f, 0x07, 0, 0, 0, 0, 0, 0, 0]);
    const request = parseRestRequest(
      {
        inputs: [
          { name: "a", datatype: "FP32", shape: [1], parameters: { binary_data_size: 4 } },
          { name: "b", datatype: "INT32", shape: [1], data: [5] },
          { name: "c", datatype: "INT64", shape: [1], parameters: { binary_data_size: 8 } },
        ],
        parameters: { binary_data_output: true },
      },
      tail,
    );
    expect([...request.inputs.get("a")!.data]).toEqual([1]);
    expect([...request.inputs.get("b")!.data]).toEqual([5]);
    expect([...request.inputs.get("c")!.data]).toEqual([7n]);
    expect(request.binaryOutput).toBe(true);
  });

  it.each<[string, unknown, string]>([
    ["a body that is not an object", [features], `request body must be a JSON object {"inputs": [`],
    ["a body that is null", null, `request body must be a JSON object {"inputs": [{"name", "shape", "datatype", "data"}, ...]}`],
    ["no inputs", { id: "r" }, `request body has no "inputs"; send {"inputs": [`],
    ["inputs that are not an array", { inputs: features }, `"inputs" must be an array, got an object`],
    ["empty inputs", { inputs: [] }, `"inputs" is empty; send at least one input`],
    ["an id that is not a string", { id: 7, inputs: [features] }, `"id" must be a string, got 7`],
    ["parameters that are not an object", { parameters: "x", inputs: [features] }, `request "parameters" must be an object, got a string`],
    ["a parameter that is an object", { parameters: { a: {} }, inputs: [features] }, `request parameter "a" must be a string, number or boolean`],
    ["an input that is not an object", { inputs: [features, 3] }, `inputs[1] must be an object with "name"`],
    ["an input with no name", { inputs: [{ ...features, name: "" }] }, `inputs[0]: "name" must be a non-empty string`],
    ["an input sent twice", { inputs: [features, features] }, `input 'features' appears more than once in "inputs"`],
    ["an input with too few values", { inputs: [{ ...features, data: [0.5] }] }, `input 'features': shape [1, 2] needs 2 values, got 1`],
    ["outputs that are not an array", { inputs: [features], outputs: "scores" }, `"outputs" must be an array of {"name": ...}, got a string`],
    ["an output that is a string", { inputs: [features], outputs: ["scores"] }, `outputs[0] must be an object with a "name", got a string`],
    ["an output with no name", { inputs: [features], outputs: [{}] }, `outputs[0]: "name" must be a non-empty string, got nothing`],
    ["an output asked for twice", { inputs: [features], outputs: [{ name: "y" }, { name: "y" }] }, `output 'y' is asked for more than once`],
    ["a binary_data that is not boolean", { inputs: [features], outputs: [{ name: "y", parameters: { binary_data: 1 } }] }, `output 'y': parameters.binary_data must be true or false`],
    ["a binary_data_output that is not boolean", { inputs: [features], parameters: { binary_data_output: "yes" } }, `parameters.binary_data_output must be true or false`],
  ])("answers INVALID_ARGUMENT for %s", (_label, body, message) => {
    const error = thrownBy(() => parseRestRequest(body));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain(message);
  });

  it("answers INVALID_ARGUMENT for binary bytes no input claims", () => {
    const error = thrownBy(() => parseRestRequest({ inputs: [features] }, new Uint8Array(4)));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("the body's binary part has 4 bytes that no input claims");
  });
});

describe("parseRestRequestJson()", () => {
  it("parses body text", () => {
    expect(parseRestRequestJson(JSON.stringify({ inputs: [features] })).inputs.size).toBe(1);
  });

  it("answers INVALID_ARGUMENT for text that is not JSON", () => {
    const error = thrownBy(() => parseRestRequestJson(`{"inputs": [`));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toMatch(/^request body is not valid JSON \(.+\); send \{"inputs"/);
  });
});
