import { describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code } from "../../libs/errors/index.js";
import { UploadModelVersionRequest_HeaderSchema, type UploadModelVersionRequest_Header } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { DEFAULT_REGISTRY_LIMITS } from "./registry-limits.js";
import { expectedFiles, UploadAssembler } from "./upload-assembler.js";

const bytes = new Uint8Array(1000).map((_, i) => i % 251);
const sha256 = createHash("sha256").update(bytes).digest("hex");
type HeaderInit = Parameters<typeof create<typeof UploadModelVersionRequest_HeaderSchema>>[1];
const header = (init: HeaderInit): UploadModelVersionRequest_Header => create(UploadModelVersionRequest_HeaderSchema, { model: "m", ...init });
const limits = { ...DEFAULT_REGISTRY_LIMITS, maxExternalDataFiles: 2, maxVersionBytes: 5_000 };
const model = (sizeBytes: number) => ({ path: "", sizeBytes, sha256: "" });

describe("expectedFiles()", () => {
  it("lists the model, then its external data files in header order", () => {
    const files = expectedFiles(header({ sizeBytes: 1000n, sha256, externalData: [{ path: "b.bin", sizeBytes: 10n }, { path: "a/w.bin", sizeBytes: 20n, sha256 }] }), 10_000, limits);
    expect(files).toEqual([
      { path: "", sizeBytes: 1000, sha256 },
      { path: "b.bin", sizeBytes: 10, sha256: "" },
      { path: "a/w.bin", sizeBytes: 20, sha256 },
    ]);
  });

  it.each([
    ["no size", { sha256 }, /size_bytes is required/],
    ["a size over the limit", { sizeBytes: 20_000n }, /accepts artifacts up to 10000 bytes/],
    ["a malformed sha256", { sizeBytes: 1000n, sha256: "XYZ" }, /64 lower-case hex/],
    ["too many external data files", { sizeBytes: 1n, externalData: ["a", "b", "c"].map((path) => ({ path, sizeBytes: 1n })) }, /lists 3 files; at most 2 \(TESSERA_MAX_EXTERNAL_DATA_FILES\)/],
    ["more bytes in all than a version may hold", { sizeBytes: 4000n, externalData: [{ path: "w.bin", sizeBytes: 1001n }] }, /5001 bytes in all; .* up to 5000 bytes per version \(TESSERA_MAX_VERSION_BYTES\)/],
    ["a path that leaves the model's folder", { sizeBytes: 1n, externalData: [{ path: "../w.bin", sizeBytes: 1n }] }, /external_data\[0\]\.path "\.\.\/w\.bin" is not a plain relative file path/],
    ["a repeated path", { sizeBytes: 1n, externalData: [{ path: "w.bin", sizeBytes: 1n }, { path: "w.bin", sizeBytes: 1n }] }, /repeats "w\.bin"/],
    ["an external file without a size", { sizeBytes: 1n, externalData: [{ path: "w.bin" }] }, /external_data\[0\]\.size_bytes is required \(w\.bin\)/],
    ["an idempotency key without each file's sha256", { sizeBytes: 1n, sha256, idempotencyKey: "k", externalData: [{ path: "w.bin", sizeBytes: 1n }] }, /external_data\[0\]\.sha256 is needed with header\.idempotency_key/],
  ])("refuses a header with %s (INVALID_ARGUMENT)", (_case, init, message) => {
    expect(() => expectedFiles(header(init as HeaderInit), 10_000, limits)).toThrow(message);
    expect(() => expectedFiles(header(init as HeaderInit), 10_000, limits)).toThrow(expect.objectContaining({ code: Code.InvalidArgument }));
  });
});

describe("UploadAssembler", () => {
  it("counts and hashes chunks as they pass", () => {
    const assembler = new UploadAssembler({ path: "", sizeBytes: 1000, sha256 });
    assembler.add(bytes.subarray(0, 400));
    assembler.add(bytes.subarray(400));
    expect(assembler.finish()).toEqual({ sha256, sizeBytes: 1000 });
  });

  it("refuses more bytes than announced as soon as they arrive", () => {
    expect(() => new UploadAssembler(model(500)).add(bytes)).toThrow(/more than header.size_bytes \(500\)/);
  });

  it("refuses a stream that ended early, naming the external data file it was in", () => {
    const assembler = new UploadAssembler(model(1000));
    assembler.add(bytes.subarray(0, 10));
    expect(() => assembler.finish()).toThrow(/ended after 10 of 1000 bytes; nothing was stored/);
    const file = new UploadAssembler({ path: "w.bin", sizeBytes: 1000, sha256: "" });
    file.add(bytes.subarray(0, 10));
    expect(() => file.finish()).toThrow(/ended after 10 of 1000 bytes of external data file "w\.bin"/);
  });

  it("refuses bytes whose sha256 differs from the header's", () => {
    const assembler = new UploadAssembler({ path: "", sizeBytes: 1000, sha256: "0".repeat(64) });
    assembler.add(bytes);
    expect(() => assembler.finish()).toThrow(new RegExp(`sha256 is ${sha256}`));
  });
});
