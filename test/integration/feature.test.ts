import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Code } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { ApplyAction, ApplyDefinitionsRequestSchema, FeatureSchema, FeatureStatus, ValueType } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { startRedisCluster, type RedisClusterHandle } from "../../libs/testing/index.js";
import { startTestFeature, type TestFeature } from "../support/feature-harness.js";
import { cardDefinitions, cardRow, v } from "./feature-fixtures.js";
import { callOutcome } from "../support/call-outcome.js";

const refs = ["card_stats:amount_avg", "card_stats:txn_count", "card_stats:risk", "card_stats:hour", "card_stats:is_new", "card_stats:country", "card_stats:embedding"];

let cluster: RedisClusterHandle;
beforeAll(async () => {
  cluster = await startRedisCluster();
});
afterAll(async () => {
  await cluster?.stop();
});

describe.each([
  ["NATS KV + Redis", () => startTestFeature({ online: "redis", now: () => Date.now() + clock.offset })],
  ["NATS KV + Redis Cluster", () => startTestFeature({ online: { url: cluster.nodes, cluster: true }, now: () => Date.now() + clock.offset })],
  ["embedded (memory KV + memory store)", () => startTestFeature({ mode: "embedded", online: "memory", now: () => Date.now() + clock.offset })],
])("feature service over %s", (_name, start) => {
  let feature: TestFeature;
  beforeAll(async () => {
    clock.offset = 0;
    feature = await start();
    await feature.client.applyDefinitions(cardDefinitions());
  });
  afterAll(async () => {
    await feature?.stop();
  });

  describe("definitions", () => {
    it("lists and describes what was applied, at version 1, with defaults filled in", async () => {
      const { entities } = await feature.client.listEntities({});
      expect(entities.map((e) => [e.name, e.joinKey, e.version])).toEqual([["card", "card_id", 1]]);
      const { featureView, versions } = await feature.client.describeFeatureView({ name: "card_stats" });
      expect(featureView?.version).toBe(1);
      expect(versions).toEqual([1]);
      expect(featureView?.owner).toBe("risk-team");
      expect(featureView?.features.find((f) => f.name === "embedding")?.vectorLength).toBe(3);
      expect((await feature.client.listFeatureViews({ entity: "card" })).featureViews.map((view) => view.name)).toEqual(["card_stats"]);
      expect((await feature.client.listFeatureViews({ entity: "user" })).featureViews).toEqual([]);
    });

    it("keeps the version of an unchanged definition and bumps it on a change, keeping the old one", async () => {
      const name = "versioned";
      const first = await feature.client.applyDefinitions(cardDefinitions(name));
      expect(first.applied.find((a) => a.name === name)?.action).toBe(ApplyAction.CREATED);
      const again = await feature.client.applyDefinitions(cardDefinitions(name));
      expect(again.applied.map((a) => a.action)).toEqual([ApplyAction.UNCHANGED, ApplyAction.UNCHANGED]);
      const changed = create(ApplyDefinitionsRequestSchema, cardDefinitions(name));
      changed.featureViews[0]!.features.push(create(FeatureSchema, { name: "extra", type: ValueType.BOOL }));
      changed.featureViews[0]!.description = "with extra";
      const updated = await feature.client.applyDefinitions(changed);
      expect(updated.applied.find((a) => a.name === name)).toMatchObject({ action: ApplyAction.UPDATED, version: 2 });
      const described = await feature.client.describeFeatureView({ name });
      expect(described.versions).toEqual([1, 2]);
      expect(described.featureView?.features.map((f) => f.name)).toContain("extra");
      const old = await feature.client.describeFeatureView({ name, version: 1 });
      expect(old.featureView?.features.map((f) => f.name)).not.toContain("extra");
    });

    it("refuses a feature's type change in place with FAILED_PRECONDITION, and stores nothing", async () => {
      const changed = create(ApplyDefinitionsRequestSchema, cardDefinitions());
      changed.featureViews[0]!.features[0]!.type = ValueType.STRING;
      const result = await callOutcome(feature.client.applyDefinitions(changed));
      expect(result.code).toBe(Code.FailedPrecondition);
      expect(result.message).toMatch(/amount_avg.*double.*string.*new/);
      const vector = create(ApplyDefinitionsRequestSchema, cardDefinitions());
      vector.featureViews[0]!.features[6]!.vectorLength = 4;
      expect((await callOutcome(feature.client.applyDefinitions(vector))).code).toBe(Code.FailedPrecondition);
      expect((await feature.client.describeFeatureView({ name: "card_stats" })).featureView?.version).toBe(1);
    });

    it("a dry run reports what would change and stores nothing", async () => {
      const response = await feature.client.applyDefinitions({ ...cardDefinitions("dry_view"), dryRun: true });
      expect(response.applied.find((a) => a.name === "dry_view")?.action).toBe(ApplyAction.CREATED);
      expect((await callOutcome(feature.client.describeFeatureView({ name: "dry_view" }))).code).toBe(Code.NotFound);
    });

    it.each([
      ["an unknown entity", { featureViews: [{ name: "x", entities: ["nobody"], features: [{ name: "a", type: ValueType.BOOL }] }] }, /entity "nobody" is not defined/],
      ["a vector without a length", { featureViews: [{ name: "x", entities: ["card"], features: [{ name: "a", type: ValueType.FLOAT_VECTOR }] }] }, /vector_length/],
      ["a feature without a type", { featureViews: [{ name: "x", entities: ["card"], features: [{ name: "a" }] }] }, /give a type/],
      ["a bad name", { entities: [{ name: "Card-1" }] }, /not a valid name/],
      ["a duplicated feature", { featureViews: [{ name: "x", entities: ["card"], features: [{ name: "a", type: ValueType.BOOL }, { name: "a", type: ValueType.BOOL }] }] }, /declared twice/],
      ["a push subject outside the prefix", { featureViews: [{ name: "x", entities: ["card"], features: [{ name: "a", type: ValueType.BOOL }], pushSource: { subject: "tessera.x" } }] }, /feature_push\./],
    ])("answers INVALID_ARGUMENT for %s", async (_what, request, message) => {
      const result = await callOutcome(feature.client.applyDefinitions(request));
      expect(result.code).toBe(Code.InvalidArgument);
      expect(result.message).toMatch(message);
    });
  });

  describe("online features", () => {
    it("reads back every type as written, PRESENT with its event time; an unknown key is NOT_FOUND", async () => {
      const t = Date.now() - 1000;
      expect(await feature.client.writeOnlineFeatures({ view: "card_stats", rows: [cardRow("c1", t)] })).toMatchObject({ written: 1, stale: 0 });
      const response = await feature.client.getOnlineFeatures({ features: refs, entityKeys: ["c1", "nobody"] });
      expect(response.columns.map((c) => c.feature)).toEqual(refs);
      const [amount, count, risk, hour, isNew, country, embedding] = response.columns;
      expect(amount!.values[0]!.kind).toEqual({ case: "doubleValue", value: 12.5 });
      expect(count!.values[0]!.kind).toEqual({ case: "int64Value", value: 7n });
      expect(risk!.values[0]!.kind).toEqual({ case: "floatValue", value: 0.25 });
      expect(hour!.values[0]!.kind).toEqual({ case: "int32Value", value: 13 });
      expect(isNew!.values[0]!.kind).toEqual({ case: "boolValue", value: true });
      expect(country!.values[0]!.kind).toEqual({ case: "stringValue", value: "NL" });
      expect(embedding!.values[0]!.kind.case).toBe("floatVectorValue");
      expect(embedding!.values[0]!.kind.value).toMatchObject({ values: [0.5, -1, 2] });
      expect(response.columns.map((c) => c.statuses)).toEqual(refs.map(() => [FeatureStatus.PRESENT, FeatureStatus.NOT_FOUND]));
      expect(timestampMs(amount!.eventTimes[0]!)).toBe(t);
      expect(amount!.values[1]!.kind.case).toBeUndefined();
    });

    it("answers duplicate entity keys per row", async () => {
      await feature.client.writeOnlineFeatures({ view: "card_stats", rows: [cardRow("d1", Date.now(), 1), cardRow("d2", Date.now(), 2)] });
      const response = await feature.client.getOnlineFeatures({ features: ["card_stats:amount_avg"], entityKeys: ["d1", "d2", "d1", "none", "d1"] });
      expect(response.entityKeys).toEqual(["d1", "d2", "d1", "none", "d1"]);
      expect(response.columns[0]!.values.map((value) => value.kind.value)).toEqual([1, 2, 1, undefined, 1]);
      expect(response.columns[0]!.statuses[3]).toBe(FeatureStatus.NOT_FOUND);
    });

    it("never lets an older event overwrite a newer one", async () => {
      const t = Date.now();
      await feature.client.writeOnlineFeatures({ view: "card_stats", rows: [cardRow("lww", t, 2)] });
      const stale = await feature.client.writeOnlineFeatures({ view: "card_stats", rows: [cardRow("lww", t - 5000, 1)] });
      expect(stale).toMatchObject({ written: 0, stale: 1 });
      const response = await feature.client.getOnlineFeatures({ features: ["card_stats:amount_avg"], entityKeys: ["lww"] });
      expect(response.columns[0]!.values[0]!.kind.value).toBe(2);
    });

    it("marks a value older than the view's max age OUTSIDE_MAX_AGE, still returning it", async () => {
      const t = Date.now() - 2 * 3600 * 1000;
      await feature.client.writeOnlineFeatures({ view: "card_stats", rows: [cardRow("old", t, 3)] });
      const response = await feature.client.getOnlineFeatures({ features: ["card_stats:amount_avg"], entityKeys: ["old"] });
      expect(response.columns[0]!.statuses).toEqual([FeatureStatus.OUTSIDE_MAX_AGE]);
      expect(response.columns[0]!.values[0]!.kind.value).toBe(3);
    });

    it("widens a float written to a double feature", async () => {
      await feature.client.writeOnlineFeatures({ view: "card_stats", rows: [{ entityKey: "wide", eventTime: timestampFromMs(Date.now()), values: { amount_avg: v.float(1.5) } }] });
      const response = await feature.client.getOnlineFeatures({ features: ["card_stats:amount_avg", "card_stats:country"], entityKeys: ["wide"] });
      expect(response.columns[0]!.values[0]!.kind).toEqual({ case: "doubleValue", value: 1.5 });
      // A row replaces the entity's values: what it left out is not found.
      expect(response.columns[1]!.statuses).toEqual([FeatureStatus.NOT_FOUND]);
    });
  });

  describe("bad input", () => {
    const now = () => timestampFromMs(Date.now());
    it.each([
      ["an unknown feature name", { entityKey: "b", values: { nope: v.double(1) } }, /no feature "nope"/],
      ["a wrong type", { entityKey: "b", values: { txn_count: v.string("7") } }, /txn_count.*int64.*string/],
      ["a vector of the wrong length", { entityKey: "b", values: { embedding: v.vector([1, 2]) } }, /length 3, got 2/],
      ["NaN where the type forbids it", { entityKey: "b", values: { amount_avg: v.double(Number.NaN) } }, /NaN/],
      ["Infinity in a vector", { entityKey: "b", values: { embedding: v.vector([1, Infinity, 2]) } }, /Infinity/],
      ["a missing event time", { entityKey: "b", values: { amount_avg: v.double(1) }, eventTime: undefined }, /event_time is required/],
      ["an event time far in the future", { entityKey: "b", values: { amount_avg: v.double(1) }, eventTime: timestampFromMs(Date.now() + 3600_000) }, /in the future/],
      ["an empty entity key", { entityKey: "", values: { amount_avg: v.double(1) } }, /entity key is empty/],
    ])("refuses %s with INVALID_ARGUMENT, writing nothing of the batch", async (_what, bad, message) => {
      const good = cardRow("batch_good", Date.now());
      const result = await callOutcome(feature.client.writeOnlineFeatures({ view: "card_stats", rows: [good, { eventTime: now(), ...bad }] }));
      expect(result.code).toBe(Code.InvalidArgument);
      expect(result.message).toMatch(message);
      expect(result.message).toMatch(/row 1/);
      const read = await feature.client.getOnlineFeatures({ features: ["card_stats:amount_avg"], entityKeys: ["batch_good"] });
      expect(read.columns[0]!.statuses).toEqual([FeatureStatus.NOT_FOUND]);
    });

    it("answers NOT_FOUND for an unknown view or feature, naming it", async () => {
      let result = await callOutcome(feature.client.getOnlineFeatures({ features: ["nope:amount_avg"], entityKeys: ["c1"] }));
      expect(result).toMatchObject({ code: Code.NotFound, message: expect.stringMatching(/"nope"/) });
      result = await callOutcome(feature.client.getOnlineFeatures({ features: ["card_stats:nope"], entityKeys: ["c1"] }));
      expect(result).toMatchObject({ code: Code.NotFound, message: expect.stringMatching(/no feature "nope"/) });
      result = await callOutcome(feature.client.writeOnlineFeatures({ view: "nope", rows: [cardRow("c1", Date.now())] }));
      expect(result.code).toBe(Code.NotFound);
    });

    it("answers INVALID_ARGUMENT for a malformed reference or no keys", async () => {
      expect((await callOutcome(feature.client.getOnlineFeatures({ features: ["card_stats"], entityKeys: ["c1"] }))).code).toBe(Code.InvalidArgument);
      expect((await callOutcome(feature.client.getOnlineFeatures({ features: ["card_stats:risk"], entityKeys: [] }))).code).toBe(Code.InvalidArgument);
    });
  });
});

const clock = { offset: 0 };
