import type { ReplicaReadiness } from "../launcher/replica-readiness.js";
import type { RunningMesh } from "../launcher/running-mesh.js";
import { formatTable } from "./format-table.js";

/**
 * `tessera up`'s table: where each service listens and how it stands.
 *   SERVICE      GRPC             HTTP            DEVICE  SERVES            STATUS
 *   registry     127.0.0.1:50051  127.0.0.1:8081  -       -                 ready
 *   inference-0  127.0.0.1:8001   127.0.0.1:8000  cpu     fraud@production  ready
 */
export function formatMeshTable(mesh: Pick<RunningMesh, "registry" | "replicas" | "monitoring" | "feature" | "router">, readiness: ReadonlyMap<string, ReplicaReadiness>): string {
  const rows = [[mesh.registry.name, mesh.registry.grpcAddress, mesh.registry.httpAddress, "-", "-", "ready"]];
  if (mesh.router) rows.push([mesh.router.name, mesh.router.grpcAddress, mesh.router.httpAddress, "-", "front door", "ready"]);
  if (mesh.feature) rows.push([mesh.feature.name, mesh.feature.grpcAddress, mesh.feature.httpAddress, "-", `online store: ${mesh.feature.onlineStore}`, "ready"]);
  for (const replica of mesh.replicas) {
    const state = readiness.get(replica.name);
    rows.push([
      replica.name,
      replica.grpcAddress,
      replica.httpAddress,
      replica.device ?? "-",
      replica.serve.length > 0 ? replica.serve.join(",") : "-",
      state ? describeReadiness(state) : "starting",
    ]);
  }
  if (mesh.monitoring) rows.push([mesh.monitoring.name, mesh.monitoring.grpcAddress, mesh.monitoring.httpAddress, "-", "-", "ready"]);
  return formatTable(["SERVICE", "GRPC", "HTTP", "DEVICE", "SERVES", "STATUS"], rows);
}

/** One status cell: "ready", "live, serving nothing", "waiting for fraud@production (not pushed yet)", "loading". */
export function describeReadiness(readiness: ReplicaReadiness): string {
  switch (readiness.state) {
    case "ready":
      return "ready";
    case "idle":
      return "live, serving nothing";
    case "waiting":
      return `waiting for ${readiness.missing.join(", ")} (not in the registry yet)`;
    case "loading":
      return "live, still loading";
  }
}

/**
 * What to type next, given what the replicas wait for: push the missing
 * models, then predict (with a real input where `inputExample` knows one).
 */
export function nextSteps(
  mesh: Pick<RunningMesh, "registry" | "replicas" | "router">,
  readiness: ReadonlyMap<string, ReplicaReadiness>,
  inputExample: (model: string) => string | undefined = () => undefined,
): string[] {
  const missing = new Set<string>();
  for (const state of readiness.values()) if (state.state === "waiting") state.missing.forEach((spec) => missing.add(spec));
  const steps: string[] = [];
  for (const spec of missing) {
    const [model, selector] = spec.split("@") as [string, string];
    const alias = /^\d+$/.test(selector) ? "" : ` --alias ${selector}`;
    steps.push(`tessera models push models/${model}.onnx --name ${model}${alias}${mesh.registry.grpcAddress === "127.0.0.1:50051" ? "" : ` --registry ${mesh.registry.grpcAddress}`}`);
  }
  const first = mesh.replicas[0];
  const model = first?.serve[0]?.split("@")[0];
  if (first && model) {
    // Through the front door when there is one.
    const door = mesh.router ?? first;
    const at = door.grpcAddress === "127.0.0.1:8001" ? "" : ` --inference ${door.grpcAddress}`;
    const input = inputExample(model);
    steps.push(input ? `tessera predict ${model} --input '${input}'${at}` : `tessera predict ${model} --input '{"<input>": [[...]]}'${at}   (tessera models show ${model} lists its inputs)`);
  }
  return steps;
}
