import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ModelState, ServedModelSchema } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { describeServed, pickServed } from "./pick-served.js";

const served = [
  create(ServedModelSchema, { model: "fraud", version: 2, aliases: ["staging"], state: ModelState.READY }),
  create(ServedModelSchema, { model: "fraud", version: 1, aliases: ["production"], state: ModelState.READY }),
  create(ServedModelSchema, { model: "wide", version: 4, aliases: [], state: ModelState.LOADING }),
];

describe("pickServed()", () => {
  it("picks by version, by alias, and the production version by default", () => {
    expect(pickServed(served, { model: "fraud", version: 2 }, "a:1").version).toBe(2);
    expect(pickServed(served, { model: "fraud", alias: "staging" }, "a:1").version).toBe(2);
    expect(pickServed(served, { model: "fraud" }, "a:1").version).toBe(1);
  });

  it("still returns a version that is loading, so its signature can come from the registry", () => {
    expect(pickServed(served, { model: "wide" }, "a:1").state).toBe(ModelState.LOADING);
  });

  it("lists what the replica serves when the model is not among it", () => {
    expect(() => pickServed(served, { model: "nope" }, "a:1")).toThrow(
      'the inference replica at a:1 does not serve model "nope"; it serves fraud v2 (staging), fraud v1 (production), wide v4 (loading)',
    );
    expect(() => pickServed(served, { model: "fraud", version: 9 }, "a:1")).toThrow("does not serve fraud v9");
  });
});

describe("describeServed()", () => {
  it("says how to serve something when the replica serves nothing", () => {
    expect(describeServed([])).toContain("nothing yet");
  });
});
