import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { RouteSchema } from "../../libs/gen/tessera/router/v1/router_pb.js";
import { formatRoutes, parseShadow, parseSplit } from "./format-routes.js";

describe("formatRoutes()", () => {
  it("shows one line per route", () => {
    const route = create(RouteSchema, { model: "fraud", splits: [{ version: 1, weight: 90 }, { version: 2, weight: 10 }], shadow: { version: 3, percent: 5 }, fallbackVersion: 1, revision: 12n });
    expect(formatRoutes([route])).toBe(
      ["MODEL  SPLITS     STICKY         SHADOW  FALLBACK  DEGRADE  REVISION", "fraud  1:90 2:10  x-tessera-key  3 @ 5%  1         -        12"].join("\n"),
    );
    expect(formatRoutes([])).toContain("no routes");
  });
});

describe("parseSplit() and parseShadow()", () => {
  it("reads version=weight and version:percent", () => {
    expect(parseSplit("2=90")).toEqual({ version: 2, weight: 90 });
    expect(parseShadow("3:5")).toEqual({ version: 3, percent: 5 });
    expect(() => parseSplit("2:90")).toThrow("<version>=<weight>");
    expect(() => parseShadow("3:500")).toThrow("<version>:<percent>");
  });
});
