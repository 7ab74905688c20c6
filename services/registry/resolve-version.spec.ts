import { describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { ModelSchema, VersionSelectorSchema } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { resolveVersionNumber } from "./resolve-version.js";

const model = create(ModelSchema, { name: "fraud", latestVersion: 4, aliases: { production: 2, staging: 4 } });
const selector = (init: Parameters<typeof create<typeof VersionSelectorSchema>>[1]) => create(VersionSelectorSchema, { model: "fraud", ...init });

describe("resolveVersionNumber()", () => {
  it("resolves a number, an alias, 'latest' and no selector", () => {
    expect(resolveVersionNumber(model, selector({ selector: { case: "version", value: 3 } }))).toBe(3);
    expect(resolveVersionNumber(model, selector({ selector: { case: "alias", value: "production" } }))).toBe(2);
    expect(resolveVersionNumber(model, selector({ selector: { case: "alias", value: "latest" } }))).toBe(4);
    expect(resolveVersionNumber(model, selector({}))).toBe(4);
  });

  it("lists the known aliases when one is unknown", () => {
    expect(() => resolveVersionNumber(model, selector({ selector: { case: "alias", value: "canary" } }))).toThrow(
      'model "fraud" has no alias "canary"; its aliases are: production, staging',
    );
  });

  it("says a model without versions has none", () => {
    expect(() => resolveVersionNumber(create(ModelSchema, { name: "empty" }), selector({}))).toThrow(/no versions yet/);
  });
});
