import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { FeatureKind, FeatureProfileSchema, FeatureRole, ReferenceProfileSchema } from "../../libs/gen/tessera/registry/v1/profile_pb.js";
import { featureSlots, ProfileBuilder } from "../../libs/profiles/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { failure } from "../support/call-outcome.js";

const fraud = exampleModel("fraud");

describe("reference profiles in the registry", () => {
  let registry: TestRegistry;
  let model: string;

  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
    model = uniqueName("profiled").replace(/_/g, "-");
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, fraud.build());
  });

  afterAll(async () => {
    await registry?.stop();
  });

  it("stores a profile built from the signature's features and gives it back by alias", async () => {
    const { modelVersion } = await registry.client.getModelVersion({ version: { model, selector: { case: "version", value: 1 } } });
    const slots = featureSlots(modelVersion!.signature!);
    expect(slots.map((s) => s.name)).toEqual([...Array.from({ length: 16 }, (_, j) => `features[${j}]`), "score"]);
    const builder = new ProfileBuilder(slots, (s) => s.kinds[0]!);
    for (let i = 0; i < 200; i++) builder.add(slots.map((_, j) => (i * (j + 1)) % 17), `row ${i}`);
    const profile = builder.finish("generated");
    await registry.client.setReferenceProfile({ model, version: 1, profile });
    const got = await registry.client.getReferenceProfile({ version: { model, selector: { case: "alias", value: "production" } } });
    expect(got).toMatchObject({ model, version: 1 });
    expect(got.profile!.rowCount).toBe(200n);
    expect(got.profile!.features.map((f) => f.name)).toEqual(slots.map((s) => s.name));
    expect(got.profile!.features[1]!.numeric!.values).toEqual(profile.features[1]!.numeric!.values);
  });

  it("refuses a profile whose types disagree with the signature", async () => {
    const wrong = create(ReferenceProfileSchema, {
      rowCount: 3n,
      features: [create(FeatureProfileSchema, { name: "score", role: FeatureRole.OUTPUT, kind: FeatureKind.CATEGORICAL, categorical: { frequencies: { yes: 3n } } })],
    });
    const error = await failure(registry.client.setReferenceProfile({ model, version: 1, profile: wrong }));
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain('feature "score"');
    expect(error.rawMessage).toContain("must be numeric, not categorical");
  });

  it("answers NOT_FOUND for a missing version and for a version without a profile", async () => {
    const profile = create(ReferenceProfileSchema, { rowCount: 1n });
    expect((await failure(registry.client.setReferenceProfile({ model, version: 9, profile }))).code).toBe(Code.NotFound);
    await uploadModelVersion(registry.client, { model }, fraud.build());
    const error = await failure(registry.client.getReferenceProfile({ version: { model, selector: { case: "version", value: 2 } } }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toContain("tessera profile");
  });
});
