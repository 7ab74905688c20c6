import { describe, expect, it } from "vitest";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { RouteSchema } from "../../../libs/gen/tessera/router/v1/router_pb.js";
import { routeProblems, routeVersions } from "./validate-route.js";

const route = (init: MessageInitShape<typeof RouteSchema>) => create(RouteSchema, init);

describe("routeProblems()", () => {
  it("accepts a good route", () => {
    expect(routeProblems(route({ model: "fraud", splits: [{ version: 1, weight: 60 }, { version: 2, weight: 40 }], shadow: { version: 3, percent: 5 } }))).toEqual([]);
  });

  it.each([
    ["weights not summing to 100", { model: "fraud", splits: [{ version: 1, weight: 60 }, { version: 2, weight: 30 }] }, "sum to 90"],
    ["no splits", { model: "fraud" }, "splits is empty"],
    ["version 0", { model: "fraud", splits: [{ version: 0, weight: 100 }] }, "version 0"],
    ["a repeated version", { model: "fraud", splits: [{ version: 1, weight: 50 }, { version: 1, weight: 50 }] }, "appears twice"],
    ["a bad model name", { model: "Fraud!", splits: [{ version: 1, weight: 100 }] }, "not a model name"],
    ["shadow over 100", { model: "fraud", splits: [{ version: 1, weight: 100 }], shadow: { version: 2, percent: 101 } }, "0-100"],
    ["shadow without version", { model: "fraud", splits: [{ version: 1, weight: 100 }], shadow: { percent: 10 } }, "shadow.version is 0"],
    ["a bad sticky header", { model: "fraud", splits: [{ version: 1, weight: 100 }], stickyHeader: "X Key" }, "sticky_header"],
  ] satisfies Array<[string, MessageInitShape<typeof RouteSchema>, string]>)("refuses %s", (_, init, message) => {
    expect(routeProblems(route(init)).join("; ")).toContain(message);
  });
});

describe("routeVersions()", () => {
  it("lists splits, shadow and fallback once each", () => {
    expect(routeVersions(route({ model: "m", splits: [{ version: 2, weight: 50 }, { version: 1, weight: 50 }], shadow: { version: 3, percent: 1 }, fallbackVersion: 1 }))).toEqual([1, 2, 3]);
  });
});
