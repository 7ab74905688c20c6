import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { checkMeshToken, writesOnly } from "./mesh-token.js";

describe("checkMeshToken()", () => {
  const all = { token: "secret" };
  const writes = { token: "secret", guards: writesOnly };

  it("answers UNAUTHENTICATED without a token and PERMISSION_DENIED with a wrong one", () => {
    expect(checkMeshToken(all, "/tessera.inference.v1.InferenceService/Predict", undefined)).toMatchObject({ ok: false, code: status.UNAUTHENTICATED });
    expect(checkMeshToken(all, "/tessera.inference.v1.InferenceService/Predict", "guess")).toMatchObject({ ok: false, code: status.PERMISSION_DENIED });
    expect(checkMeshToken(all, "/tessera.inference.v1.InferenceService/Predict", "secret")).toEqual({ ok: true });
  });

  it("leaves health and reflection open", () => {
    expect(checkMeshToken(all, "/grpc.health.v1.Health/Check", undefined)).toEqual({ ok: true });
  });

  it.each([
    ["/tessera.registry.v1.RegistryService/GetModelVersion", true],
    ["/tessera.registry.v1.RegistryService/ListModels", true],
    ["/tessera.registry.v1.RegistryService/DownloadArtifact", true],
    ["/tessera.feature.v1.FeatureService/DescribeFeatureView", true],
    ["/tessera.monitoring.v1.MonitoringService/WatchAlerts", true],
    ["/tessera.registry.v1.RegistryService/SetAlias", false],
    ["/tessera.registry.v1.RegistryService/UploadModelVersion", false],
    ["/tessera.feature.v1.FeatureService/WriteOnlineFeatures", false],
    ["/tessera.monitoring.v1.MonitoringService/StartRollout", false],
    ["/tessera.monitoring.v1.MonitoringService/RecordOutcome", false],
  ])("writesOnly lets %s through without a token: %s", (path, open) => {
    expect(checkMeshToken(writes, path, undefined).ok).toBe(open);
  });
});
