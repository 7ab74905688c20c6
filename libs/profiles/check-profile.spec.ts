import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { FeatureKind, FeatureProfileSchema, FeatureRole, ReferenceProfileSchema } from "../gen/tessera/registry/v1/profile_pb.js";
import { DataType, SignatureSchema } from "../gen/tessera/registry/v1/signature_pb.js";
import { checkProfile } from "./check-profile.js";

const dim = (size: number) => ({ size: BigInt(size) });
const signature = create(SignatureSchema, {
  inputs: [
    { name: "amount", dtype: DataType.FLOAT32, shape: [dim(-1)] },
    { name: "country", dtype: DataType.STRING, shape: [dim(-1)] },
  ],
  outputs: [{ name: "score", dtype: DataType.FLOAT32, shape: [dim(-1), dim(1)] }],
});
const numeric = (name: string, role = FeatureRole.INPUT) =>
  create(FeatureProfileSchema, { name, role, kind: FeatureKind.NUMERIC, numeric: { histogramEdges: [0, 1], histogramCounts: [3n] } });
const categorical = (name: string) =>
  create(FeatureProfileSchema, { name, role: FeatureRole.INPUT, kind: FeatureKind.CATEGORICAL, categorical: { frequencies: { a: 1n } } });
const profile = (...features: ReturnType<typeof numeric>[]) => create(ReferenceProfileSchema, { rowCount: 3n, features });

function codeOf(run: () => void): [Code, string] {
  try {
    run();
  } catch (error) {
    const e = ConnectError.from(error);
    return [e.code, e.rawMessage];
  }
  throw new Error("expected a refusal");
}

describe("checkProfile()", () => {
  it("accepts a profile that fits the signature", () => {
    expect(() => checkProfile(profile(numeric("amount"), categorical("country"), numeric("score", FeatureRole.OUTPUT)), signature, "m v1")).not.toThrow();
  });

  it.each([
    ["a numeric profile of a string input", profile(numeric("country")), "must be categorical, not numeric"],
    ["a categorical profile of a float input", profile(categorical("amount")), "must be numeric, not categorical"],
    ["a feature the signature lacks", profile(numeric("age")), 'has feature "age", which its signature does not; the features are: amount, country, score'],
    ["an output called an input", profile(numeric("score")), 'feature "score" is an output of m v1, but the profile says input'],
    ["a feature twice", profile(numeric("amount"), numeric("amount")), 'has feature "amount" twice'],
  ])("refuses %s with INVALID_ARGUMENT", (_what, p, message) => {
    const [code, text] = codeOf(() => checkProfile(p, signature, "m v1"));
    expect(code).toBe(Code.InvalidArgument);
    expect(text).toContain(message);
  });

  it("answers FAILED_PRECONDITION for a version without a signature", () => {
    expect(codeOf(() => checkProfile(profile(numeric("amount")), undefined, "m v1"))[0]).toBe(Code.FailedPrecondition);
  });
});
