import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchEmbedded } from "../../mesh/launcher/launch-embedded.js";
import type { RunningMesh } from "../../mesh/launcher/running-mesh.js";
import { parseTopology } from "../../mesh/launcher/topology.js";

// `tessera up --embedded` in this process: no NATS anywhere, so nothing may claim one.
let dir: string;
let mesh: RunningMesh;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tessera-embedded-"));
  const topology = parseTopology(
    [
      "registry: {grpc_port: 0, http_port: 0, env: {TESSERA_DATA_DIR: " + JSON.stringify(join(dir, "data")) + "}}",
      "monitoring: {enabled: false}",
      "router: {grpc_port: 0, http_port: 0, env: {TESSERA_ROUTER_AUTH: \"off\"}}",
      "inference: []",
      "",
    ].join("\n"),
    "embedded-mesh.test.ts",
  );
  mesh = await launchEmbedded({ topology, logDir: join(dir, "logs") });
});

afterAll(async () => {
  await mesh?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("launchEmbedded()", () => {
  it("has the router say on /router/status and /metrics that it runs on the embedded bus, not on a connected NATS", async () => {
    const status = (await (await fetch(`http://${mesh.router!.httpAddress}/router/status`)).json()) as { bus: string; nats: string };
    expect(status.bus).toBe("embedded");
    expect(status.nats).toBe("not used: embedded mesh (routes and membership in this process)");
    const metrics = await (await fetch(`http://${mesh.router!.httpAddress}/metrics`)).text();
    expect(metrics).toMatch(/^tessera_router_nats_connected 0$/m);
  });
});
