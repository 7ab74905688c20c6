import { describe, expect, it } from "vitest";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { ModelInferRequestSchema } from "../../../libs/gen/inference/grpc_service_pb.js";
import { PredictRequestSchema } from "../../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../../libs/gen/tessera/registry/v1/signature_pb.js";
import { peekFields, versionSuffix } from "./peek-fields.js";

const predict = (init: { model: string; version?: number; alias?: string }) =>
  toBinary(
    PredictRequestSchema,
    create(PredictRequestSchema, {
      ...init,
      inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 2n], floatData: [1, 2], rawData: new Uint8Array(300) }],
      requestId: "r-1",
      queueTimeoutUs: 5n,
    }),
  );

const concat = (a: Uint8Array, b: Uint8Array) => Uint8Array.from([...a, ...b]);

describe("peekFields()", () => {
  it("reads model, version and alias of a PredictRequest, skipping the tensors", () => {
    expect(peekFields(predict({ model: "fraud", version: 300 }), "varint")).toEqual({ model: "fraud", version: "300", alias: "" });
    expect(peekFields(predict({ model: "fraud", alias: "production" }), "varint")).toEqual({ model: "fraud", version: "", alias: "production" });
  });

  it("reads model_name and model_version of a ModelInferRequest", () => {
    const bytes = toBinary(ModelInferRequestSchema, create(ModelInferRequestSchema, { modelName: "fraud", modelVersion: "2", rawInputContents: [new Uint8Array(64)] }));
    expect(peekFields(bytes, "string")).toMatchObject({ model: "fraud", version: "2" });
  });

  it("throws on bytes that are not a message", () => {
    expect(() => peekFields(Uint8Array.from([0x0a, 0x10, 0x61]), "varint")).toThrow();
    expect(() => peekFields(Uint8Array.from([0x0f]), "varint")).toThrow();
  });
});

describe("versionSuffix()", () => {
  it("redirects a PredictRequest to a version and clears its alias, other fields kept", () => {
    for (const version of [1, 127, 128, 70000]) {
      const message = fromBinary(PredictRequestSchema, concat(predict({ model: "fraud", alias: "production" }), versionSuffix(version, "varint")));
      expect(message).toMatchObject({ model: "fraud", version, alias: "", requestId: "r-1", queueTimeoutUs: 5n });
      expect(message.inputs[0]?.floatData).toEqual([1, 2]);
    }
  });

  it("redirects a ModelInferRequest to a version", () => {
    const bytes = toBinary(ModelInferRequestSchema, create(ModelInferRequestSchema, { modelName: "fraud", modelVersion: "1" }));
    expect(fromBinary(ModelInferRequestSchema, concat(bytes, versionSuffix(12, "string")))).toMatchObject({ modelName: "fraud", modelVersion: "12" });
  });
});
