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
