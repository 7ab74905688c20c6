import { describe, expect, it } from "vitest";
import { ConfigError } from "../config/index.js";
import { meshNames, readMeshName } from "./mesh-names.js";

describe("meshNames()", () => {
  it("keeps today's names in the default mesh", () => {
    const names = meshNames();
    expect(names.subject("tessera.registry.alias.moved")).toBe("tessera.registry.alias.moved");
    expect(names.bucket("tessera_registry")).toBe("tessera_registry");
    expect(names.eventsStream).toBe("TESSERA_EVENTS");
    expect(names.eventsSubjects).toBe("tessera.>");
  });

  it("replaces the leading tessera in another mesh, and only that", () => {
    const names = meshNames("blue");
    expect(names.subject("tessera.registry.alias.moved")).toBe("blue.registry.alias.moved");
    expect(names.subject("tessera.>")).toBe("blue.>");
    expect(names.subject("tesserax.a")).toBe("tesserax.a");
    expect(names.subject("other.tessera.a")).toBe("other.tessera.a");
    expect(names.logicalSubject("blue.registry.alias.moved")).toBe("tessera.registry.alias.moved");
    expect(names.bucket("tessera_replicas")).toBe("blue_replicas");
    expect(names.bucket("reg_123")).toBe("reg_123");
    expect(names.eventsStream).toBe("BLUE_EVENTS");
    expect(names.eventsSubjects).toBe("blue.>");
    expect(names.stream("TESSERA_PREDICTIONS")).toBe("BLUE_PREDICTIONS");
    expect(names.stream("TESSERAX")).toBe("TESSERAX");
  });

  it("renames the prediction-log family (tessera-…) too, keeping it outside the events stream's subjects", () => {
    const names = meshNames("blue");
    expect(names.subject("tessera-predictions.fraud.3")).toBe("blue-predictions.fraud.3");
    expect(names.subject("tessera-predictions.>")).toBe("blue-predictions.>");
    expect(names.subject("tessera-predictions-dead")).toBe("blue-predictions-dead");
    expect(names.logicalSubject("blue-predictions.fraud.3")).toBe("tessera-predictions.fraud.3");
    expect(meshNames().subject("tessera-predictions.fraud.3")).toBe("tessera-predictions.fraud.3");
    // `blue.>` does not match `blue-predictions.…`: the first token differs.
    expect(names.subject("tessera-predictions.fraud.3").split(".")[0]).not.toBe(names.eventsSubjects.split(".")[0]);
  });

  it("refuses a mesh name whose events would capture another mesh's prediction logs", () => {
    expect(() => meshNames("blue-predictions")).toThrow(/kept for prediction-log subjects \(mesh "blue" uses them\)/);
    expect(meshNames("predictions-blue").mesh).toBe("predictions-blue");
  });

  it("prefixes names from before meshes in other meshes only, so the default mesh keeps its data", () => {
    expect(meshNames().prefixed("feature_push")).toBe("feature_push");
    expect(meshNames().prefixed("tf:", ":")).toBe("tf:");
    expect(meshNames("blue").prefixed("feature_push")).toBe("blue_feature_push");
    expect(meshNames("blue").prefixed("tf:", ":")).toBe("blue:tf:");
  });

  it("refuses a mesh name whose events would capture a mesh's feature push subjects", () => {
    expect(() => meshNames("feature_push")).toThrow(/kept for feature push subjects/);
    expect(() => meshNames("blue_feature_push")).toThrow(/kept for feature push subjects/);
    expect(meshNames("feature_pushy").mesh).toBe("feature_pushy");
  });

  it.each(["", "Blue", "1mesh", "a.b", "a b", "a>", "x".repeat(33)])("refuses the mesh name %j, naming TESSERA_MESH", (mesh) => {
    expect(() => meshNames(mesh)).toThrow(ConfigError);
    expect(() => readMeshName({ TESSERA_MESH: mesh === "" ? "-" : mesh })).toThrow(/TESSERA_MESH/);
  });

  it("reads TESSERA_MESH, defaulting to tessera", () => {
    expect(readMeshName({})).toBe("tessera");
    expect(readMeshName({ TESSERA_MESH: "staging_2" })).toBe("staging_2");
  });
});
