import { describe, expect, it } from "vitest";
import type { ReplicaReadiness } from "../launcher/replica-readiness.js";
import type { RunningMesh } from "../launcher/running-mesh.js";
import { formatMeshTable, nextSteps } from "./format-mesh.js";

const mesh: Pick<RunningMesh, "registry" | "replicas"> = {
  registry: { name: "registry", kind: "registry", grpcAddress: "127.0.0.1:50051", httpAddress: "127.0.0.1:8081", logFile: "r.log", serve: [] },
  replicas: [
    { name: "inference-0", kind: "inference", grpcAddress: "127.0.0.1:8001", httpAddress: "127.0.0.1:8000", logFile: "i.log", device: "cpu", serve: ["fraud@production"] },
    { name: "gpu-0", kind: "inference", grpcAddress: "127.0.0.1:8003", httpAddress: "127.0.0.1:8002", logFile: "g.log", device: "cuda:0", serve: [] },
  ],
};
const readiness = new Map<string, ReplicaReadiness>([
  ["inference-0", { state: "waiting", missing: ["fraud@production"] }],
  ["gpu-0", { state: "idle" }],
]);

describe("formatMeshTable()", () => {
  it("shows where each service listens and how it stands", () => {
    expect(formatMeshTable(mesh, readiness)).toBe(
      [
        "SERVICE      GRPC             HTTP            DEVICE  SERVES            STATUS",
        "registry     127.0.0.1:50051  127.0.0.1:8081  -       -                 ready",
        "inference-0  127.0.0.1:8001   127.0.0.1:8000  cpu     fraud@production  waiting for fraud@production (not in the registry yet)",
        "gpu-0        127.0.0.1:8003   127.0.0.1:8002  cuda:0  -                 live, serving nothing",
      ].join("\n"),
    );
  });
});

describe("nextSteps()", () => {
  it("says to push what replicas wait for, then how to predict", () => {
    expect(nextSteps(mesh, readiness, (m) => (m === "fraud" ? '{"features": [[0.1]]}' : undefined))).toEqual([
      "tessera models push models/fraud.onnx --name fraud --alias production",
      `tessera predict fraud --input '{"features": [[0.1]]}'`,
    ]);
  });

  it("names non-default addresses", () => {
    const moved = { registry: { ...mesh.registry, grpcAddress: "127.0.0.1:6000" }, replicas: [{ ...mesh.replicas[0]!, grpcAddress: "127.0.0.1:7000" }] };
    const steps = nextSteps(moved, readiness);
    expect(steps[0]).toBe("tessera models push models/fraud.onnx --name fraud --alias production --registry 127.0.0.1:6000");
    expect(steps[1]).toContain("--inference 127.0.0.1:7000");
  });
});
