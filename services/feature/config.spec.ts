import { describe, expect, it } from "vitest";
import { readFeatureConfig } from "./config.js";

describe("readFeatureConfig() and the mesh", () => {
  it("keeps the pre-mesh names in the default mesh, so a running deployment keeps its data", () => {
    const config = readFeatureConfig({});
    expect([config.mesh, config.definitionsBucket, config.keyPrefix, config.pushSubjectPrefix, config.pushStream]).toEqual(["tessera", "tessera_features", "tf:", "feature_push", "TESSERA_FEATURE_PUSH"]);
  });

  it("namespaces the Redis keys, push subjects and push stream in another mesh; explicit values stay as given", () => {
    const config = readFeatureConfig({ TESSERA_MESH: "blue" });
    expect([config.keyPrefix, config.pushSubjectPrefix, config.pushStream]).toEqual(["blue:tf:", "blue_feature_push", "BLUE_FEATURE_PUSH"]);
    const own = readFeatureConfig({ TESSERA_MESH: "blue", TESSERA_FEATURE_KEY_PREFIX: "mine:", TESSERA_FEATURE_PUSH_PREFIX: "orders", TESSERA_FEATURE_PUSH_STREAM: "ORDERS" });
    expect([own.keyPrefix, own.pushSubjectPrefix, own.pushStream]).toEqual(["mine:", "orders", "ORDERS"]);
  });
});
