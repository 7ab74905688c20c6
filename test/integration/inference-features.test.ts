import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { FeatureService } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { MissingFeaturePolicy } from "../../libs/gen/tessera/registry/v1/feature_binding_pb.js";
import { createMeshClient, type MeshClient } from "../../libs/host/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel, fraudFeatureBinding, fraudFeatureDefinitions, fraudFeatureRow, fraudModelRow, FRAUD_VIEW } from "../../mesh/models/index.js";
import { FeatureLookup } from "../../services/inference/features/feature-lookup.js";
import { startTestFeature, type TestFeature } from "../support/feature-harness.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { callOutcome } from "../support/call-outcome.js";

const fraud = exampleModel("fraud");
const fraudBytes = fraud.build();
const rowOf = (seed: number) => fraud.sampleRow(seed).get("features")!.data as Float32Array;

describe("entity-keyed Predict (feature-enriched inference)", () => {
  let registry: TestRegistry;
  let feature: TestFeature;
  let featureClient: MeshClient<typeof FeatureService>;
  let lookup: FeatureLookup;
  let replica: TestReplica;
  const model = uniqueName("fraud").replace(/_/g, "-");
  const strict = uniqueName("strict").replace(/_/g, "-");
  const plain = uniqueName("plain").replace(/_/g, "-");

  beforeAll(async () => {
    registry = await startTestRegistry();
    feature = await startTestFeature();
    await feature.client.applyDefinitions(fraudFeatureDefinitions());
    await feature.client.writeOnlineFeatures({ view: FRAUD_VIEW, rows: [fraudFeatureRow("c1", rowOf(1)), fraudFeatureRow("c2", rowOf(2))] });
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"], featureBinding: fraudFeatureBinding() }, fraudBytes);
    await uploadModelVersion(registry.client, { model: strict, createModel: true, featureBinding: { ...fraudFeatureBinding(), onMissing: MissingFeaturePolicy.REJECT } }, fraudBytes);
    await uploadModelVersion(registry.client, { model: plain, createModel: true }, fraudBytes);
    featureClient = createMeshClient(FeatureService, { address: feature.host.grpcAddress });
    lookup = new FeatureLookup(featureClient.client);
    replica = await startTestReplica(registry, {
      serve: [
        { model, alias: "production" },
        { model: strict, version: 1 },
        { model: plain, version: 1 },
      ],
      features: lookup,
    });
  });
  afterAll(async () => {
    await replica?.stop();
    featureClient?.close();
    await feature?.stop();
    await registry?.stop();
  });

  const tensorPredict = async (rows: Float32Array[]) => {
    const data = rows.flatMap((r) => [...r]);
    const response = await replica.client.predict({ model, inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [BigInt(rows.length), 16n], floatData: data }] });
    return response.outputs[0]!.floatData;
  };

  it("stores the binding with the version in the registry", async () => {
    const { modelVersion } = await registry.client.getModelVersion({ version: { model, selector: { case: "version", value: 1 } } });
    expect(modelVersion?.featureBinding?.features.map((f) => f.ref)).toEqual(fraudFeatureBinding().features!.map((f) => f.ref));
  });

  it("reads the features, builds the tensor in the declared order, and scores as the tensor call does", async () => {
    const response = await replica.client.predict({ model, entityKeys: ["c1", "c2"] });
    const expected = await tensorPredict([fraudModelRow(rowOf(1)), fraudModelRow(rowOf(2))]);
    expect(response.outputs[0]!.floatData).toHaveLength(2);
    response.outputs[0]!.floatData.forEach((score, i) => expect(score).toBeCloseTo(expected[i]!, 5));
    expect(response.defaultedFeatures).toEqual([]);
  });

  it("defaults a missing entity's values and says which", async () => {
    const response = await replica.client.predict({ model, entityKeys: ["c1", "nobody"] });
    const expected = await tensorPredict([fraudModelRow(rowOf(1)), new Float32Array(16)]);
    expect(response.outputs[0]!.floatData[1]).toBeCloseTo(expected[1]!, 5);
    expect(response.defaultedFeatures.map((d) => [d.row, d.feature, d.reason])).toEqual(fraudFeatureBinding().features!.map((f) => [1, f.ref, "not_found"]));
  });

  it("rejects a missing entity with FAILED_PRECONDITION when the binding says reject", async () => {
    const result = await callOutcome(replica.client.predict({ model: strict, version: 1, entityKeys: ["c1", "nobody"] }));
    expect(result.code).toBe(Code.FailedPrecondition);
    expect(result.message).toMatch(/"nobody".*not found/);
    expect((await replica.client.predict({ model: strict, version: 1, entityKeys: ["c2"] })).outputs[0]!.floatData).toHaveLength(1);
  });

  it("answers FAILED_PRECONDITION for a version without a binding, and INVALID_ARGUMENT for keys and tensors together", async () => {
    expect((await callOutcome(replica.client.predict({ model: plain, version: 1, entityKeys: ["c1"] }))).code).toBe(Code.FailedPrecondition);
    const both = await callOutcome(replica.client.predict({ model, entityKeys: ["c1"], inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: [...rowOf(1)] }] }));
    expect(both.code).toBe(Code.InvalidArgument);
  });

  it("sends lookups made in one turn as one GetOnlineFeatures", async () => {
    const before = lookup.calls;
    const refs = fraudFeatureBinding().features!.map((f) => f.ref!);
    const answers = await Promise.all(["c1", "c2", "nobody", "c1", "c2"].map((key) => lookup.read(refs, [key])));
    expect(lookup.calls - before).toBe(1);
    expect(answers.map((columns) => columns[0]!.values[0]!.kind.value)).toEqual([rowOf(1)[0], rowOf(2)[0], undefined, rowOf(1)[0], rowOf(2)[0]].map((v) => (v === undefined ? undefined : Math.fround(v))));
  });
});
