import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { ModelSchema, ModelVersionSchema, Stage } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { formatModelDetail, formatModelList, formatPushed, formatVersionDetail, size } from "./format-models.js";

const at = timestampFromDate(new Date("2025-03-01T14:05:00Z"));
const model = create(ModelSchema, {
  name: "fraud",
  description: "scores",
  tags: { team: "risk" },
  aliases: { production: 1, staging: 2 },
  latestVersion: 2,
  createTime: at,
  updateTime: at,
  versionStages: { 1: Stage.PRODUCTION },
});
const version = (n: number) =>
  create(ModelVersionSchema, {
    model: "fraud",
    version: n,
    stage: n === 1 ? Stage.PRODUCTION : Stage.NONE,
    aliases: n === 1 ? ["production"] : ["staging"],
    artifact: { sha256: "ab".repeat(32), sizeBytes: 5120n, format: "onnx" },
    signature: { inputs: [{ name: "features", dtype: 1, shape: [{ size: -1n, name: "batch" }, { size: 16n }] }], outputs: [] },
    createTime: at,
  });

describe("formatModelList()", () => {
  it("shows one row per model with its aliases and stages", () => {
    expect(formatModelList([model])).toBe(
      ["NAME   LATEST  ALIASES                    STAGES         UPDATED               DESCRIPTION", "fraud  v2      production→v1, staging→v2  v1 production  2025-03-01 14:05 UTC  scores"].join("\n"),
    );
  });

  it("says how to add the first model", () => {
    expect(formatModelList([])).toContain("tessera models push");
  });
});

describe("formatModelDetail()", () => {
  it("lists versions newest first with stage and aliases, then the newest signature", () => {
    const text = formatModelDetail(model, [version(1), version(2)]);
    expect(text).toContain("  tags         team=risk");
    expect(text).toContain("v2       none        staging     5.1 kB  abababababab");
    expect(text).toContain("v1       production  production  5.1 kB");
    expect(text.indexOf("v2  ")).toBeLessThan(text.indexOf("v1  "));
    expect(text).toContain("signature of v2:\nKIND   NAME      DTYPE    SHAPE\ninput  features  float32  [batch, 16]");
  });
});

describe("formatVersionDetail()", () => {
  it("shows one version's stage, aliases, artifact and signature", () => {
    const text = formatVersionDetail(version(1));
    expect(text).toContain("model fraud v1\n  stage        production\n  aliases      production");
    expect(text).toContain(`artifact     onnx, 5.1 kB, sha256 ${"ab".repeat(32)}`);
  });
});

describe("formatPushed()", () => {
  it("names the new version, its size, hash prefix and aliases", () => {
    expect(formatPushed(version(2)).split("\n")[0]).toBe("pushed fraud v2 (5.1 kB, sha256 abababababab), aliases staging");
  });

  it("counts the external data files pushed with the model", () => {
    const pushed = create(ModelVersionSchema, {
      model: "fraud",
      version: 2,
      aliases: ["staging"],
      artifact: { sha256: "ab".repeat(32), sizeBytes: 5120n, format: "onnx", externalData: [{ path: "a.bin", sizeBytes: 1_000_000n }, { path: "b.bin", sizeBytes: 500_000n }] },
    });
    expect(formatPushed(pushed).split("\n")[0]).toBe("pushed fraud v2 (5.1 kB + 2 external data files (1.5 MB), sha256 abababababab), aliases staging");
  });
});

describe("size()", () => {
  it.each([
    [999n, "999 B"],
    [21_120_000n, "21.1 MB"],
    [3_000_000_000n, "3.00 GB"],
  ])("writes %s bytes as %s", (bytes, text) => {
    expect(size(bytes)).toBe(text);
  });
});
