import { describe, expect, it } from "vitest";
import { matchOipRoute } from "./oip-rest-path.js";

describe("matchOipRoute()", () => {
  it.each([
    ["GET", "/v2", { kind: "server-metadata" }],
    ["GET", "/v2/", { kind: "server-metadata" }],
    ["GET", "/v2/health/live", { kind: "live" }],
    ["GET", "/v2/health/ready", { kind: "ready" }],
    ["GET", "/v2/models/fraud", { kind: "model-metadata", model: "fraud", version: "" }],
    ["GET", "/v2/models/fraud/versions/3", { kind: "model-metadata", model: "fraud", version: "3" }],
    ["GET", "/v2/models/fraud/ready", { kind: "model-ready", model: "fraud", version: "" }],
    ["GET", "/v2/models/fraud/versions/production/ready", { kind: "model-ready", model: "fraud", version: "production" }],
    ["GET", "/v2/models/fraud/stats", { kind: "model-stats", model: "fraud", version: "" }],
    ["POST", "/v2/models/fraud/infer", { kind: "infer", model: "fraud", version: "" }],
    ["POST", "/v2/models/fraud/versions/2/infer?x=1", { kind: "infer", model: "fraud", version: "2" }],
    ["POST", "/v2/models/my%20model/infer", { kind: "infer", model: "my model", version: "" }],
    ["HEAD", "/v2/health/live", { kind: "live" }],
  ])("%s %s", (method, url, route) => {
    expect(matchOipRoute(method, url)).toEqual(route);
  });

  it("leaves paths outside /v2 to others", () => {
    expect(matchOipRoute("GET", "/metrics")).toBeUndefined();
    expect(matchOipRoute("POST", "/tessera.inference.v1.InferenceService/Predict")).toBeUndefined();
    expect(matchOipRoute("GET", "/v2beta")).toBeUndefined();
  });

  it("answers 405 with the method to use for a known path", () => {
    expect(matchOipRoute("GET", "/v2/models/fraud/infer")).toEqual({ kind: "wrong-method", allow: "POST" });
    expect(matchOipRoute("POST", "/v2/health/ready")).toEqual({ kind: "wrong-method", allow: "GET" });
  });

  it("answers unknown for other /v2 paths and broken escapes", () => {
    expect(matchOipRoute("GET", "/v2/repository/index")).toEqual({ kind: "unknown" });
    expect(matchOipRoute("POST", "/v2/models/fraud/versions/1/explain")).toEqual({ kind: "unknown" });
    expect(matchOipRoute("GET", "/v2/models/%E0%A4%A")).toEqual({ kind: "unknown" });
  });
});
