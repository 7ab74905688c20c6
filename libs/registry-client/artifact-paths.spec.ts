import { describe, expect, it } from "vitest";
import { Code } from "../errors/index.js";
import { artifactPathProblem, checkArtifactPaths } from "./artifact-paths.js";

describe("artifactPathProblem()", () => {
  it.each(["weights.bin", "model.onnx.data", "data/layer_0.bin", "a/b/c-1.weight", "_w", "Model.onnx_data", "sub/model.onnx"])("accepts %j", (path) => {
    expect(artifactPathProblem(path)).toBeUndefined();
  });

  it.each([
    ["", /empty/],
    ["/abs/w.bin", /absolute/],
    ["C:/w.bin", /absolute/],
    ["../w.bin", /contains "\.\."/],
    ["a/../../w.bin", /contains "\.\."/],
    ["./w.bin", /contains "\."/],
    ["a//b", /empty segment/],
    ["a/", /empty segment/],
    ["a\\b", /'\\'/],
    [".hidden", /starting with a letter/],
    ["we ights.bin", /not letters, digits/],
    ["wé.bin", /not letters, digits/],
    ["model.onnx", /the model file itself/],
    ["x".repeat(256), /more than 255/],
  ])("refuses %j", (path, message) => {
    expect(artifactPathProblem(path)).toMatch(message);
  });
});

describe("checkArtifactPaths()", () => {
  const codeOf = (paths: string[]) => {
    try {
      checkArtifactPaths(paths, "external_data");
      return "ok";
    } catch (error) {
      return (error as { code: Code; message: string }).code;
    }
  };

  it("accepts distinct plain paths", () => {
    expect(codeOf(["a.bin", "b/a.bin", "b/c.bin"])).toBe("ok");
  });

  it.each([
    [["a.bin", "../a.bin"], /external_data\[1\]\.path "\.\.\/a\.bin" is not a plain relative file path/],
    [["w.bin", "W.bin"], /repeats "w\.bin"/],
    [["a", "a/b.bin"], /"a" is a file, so "a\/b\.bin" cannot sit in a folder/],
  ])("refuses %j with INVALID_ARGUMENT naming the entry", (paths, message) => {
    expect(codeOf(paths)).toBe(Code.InvalidArgument);
    expect(() => checkArtifactPaths(paths, "external_data")).toThrow(message);
  });
});
