import { execFileSync, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { create } from "@bufbuild/protobuf";
import { createMemoryEventBus } from "../../libs/events/index.js";
import { LoggedTensorSchema, PredictionLogSchema } from "../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import { silentLogger } from "../../libs/log/index.js";
import { mulberry32 } from "../../libs/onnx/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { registryProfiles } from "../../services/monitoring/registry-profiles.js";
import { startMonitoring, type MonitoringServer } from "../../services/monitoring/start-monitoring.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { runNode, tesseraCli } from "../support/run-node.js";

// Each test spawns `tessera` processes (a Node start-up each, seconds on a loaded 2-core machine).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

// The built CLI against a registry and a monitoring service on ephemeral ports.

const tessera = (args: string[], cwd: string) => runNode(tesseraCli, args, { cwd });

const random = mulberry32(5);
const normal = (mean: number) => mean + Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
const header = [...Array.from({ length: 16 }, (_, j) => `features[${j}]`), "label"].join(",");

describe("tessera profile, drift report and alerts export", () => {
  let dir: string;
  let registry: TestRegistry;
  let monitoring: MonitoringServer;
  let model: string;

  beforeAll(async () => {
    if (!existsSync(tesseraCli)) throw new Error(`${tesseraCli} is missing: run \`npm run build\` first (\`npm test\` does)`);
    dir = await mkdtemp(join(tmpdir(), "tessera-monitoring-cli-"));
    registry = await startTestRegistry({ mode: "nats" });
    model = uniqueName("cli-drift").replace(/_/g, "-");
    await uploadModelVersion(registry.client, { model, createModel: true }, exampleModel("fraud").build());
    monitoring = await startMonitoring({
      config: { host: "127.0.0.1", grpcPort: 0, httpPort: 0, windowSize: 1000, reportIntervalMs: 3_600_000, consumerName: "unused", maxAckPending: 10, driftOptions: {} },
      events: createMemoryEventBus({ logger: silentLogger }),
      profiles: registryProfiles(registry.client),
      logger: silentLogger,
    });
  });

  afterAll(async () => {
    await monitoring?.stop();
    await registry?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("profiles a CSV into the registry with a progress bar", async () => {
    const rows = Array.from({ length: 600 }, () => [...Array.from({ length: 16 }, () => normal(0).toFixed(5)), "0"].join(","));
    await writeFile(join(dir, "train.csv"), [header, ...rows].join("\n") + "\n");
    const run = await tessera(["profile", model, "1", "--from", "train.csv", "--registry", registry.host.grpcAddress], dir);
    expect(run.stderr).toContain("profiling 100% [####################]");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`stored the reference profile of ${model} version 1: 600 rows, 16 features`);
    const { profile } = await registry.client.getReferenceProfile({ version: { model, selector: { case: "version", value: 1 } } });
    expect(profile!.rowCount).toBe(600n);
  });

  it("names the line of a bad value", async () => {
    await writeFile(join(dir, "bad.csv"), `${header}\n${Array(16).fill("1").join(",")},0\n${Array(15).fill("1").join(",")},x,0\n`);
    const run = await tessera(["profile", model, "1", "--from", "bad.csv", "--registry", registry.host.grpcAddress], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('bad.csv line 3: "features[15]" is numeric, got "x"');
  });

  it("prints the drift report of live logs", async () => {
    for (let i = 0; i < 200; i++) {
      await monitoring.ingest(
        create(PredictionLogSchema, {
          model,
          version: 1,
          inputs: [create(LoggedTensorSchema, { name: "features", shape: [1n, 16n], numbers: Array.from({ length: 16 }, () => normal(i < 100 ? 0 : 2)) })],
        }),
        Date.now(),
      );
    }
    const run = await tessera(["drift", "report", model, "--version", "1", "--monitoring", monitoring.host.grpcAddress], dir);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^${model} version 1: DATASET DRIFT \\(16 of 16 inputs, share 1\\.00 ≥ 0\\.50\\)`));
    expect(run.stdout).toMatch(/^features\[0\]\s+input\s+ks\s+/m);
    const missing = await tessera(["drift", "report", "nobody", "--monitoring", monitoring.host.grpcAddress], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no prediction logs for model "nobody"');
  });

  it("exports alert rules promtool accepts, and names the line of a bad rule", async () => {
    await writeFile(join(dir, "rules.yaml"), "rules:\n  - name: errors\n    metric: error_rate\n    threshold: 0.05\n    for: 5m\n");
    const run = await tessera(["alerts", "export", "--rules", "rules.yaml", "--out", "prom.yml"], dir);
    expect(run.code).toBe(0);
    if (spawnSync("promtool", ["--version"]).error) throw new Error("promtool is not installed; install it with `apt-get install -y prometheus`");
    expect(execFileSync("promtool", ["check", "rules", join(dir, "prom.yml")], { encoding: "utf8" })).toContain("SUCCESS: 1 rules found");
    await writeFile(join(dir, "bad.yaml"), "rules:\n  - name: errors\n    metric: error_rate\n    threshold: 0.05\n    for: soon\n");
    const bad = await tessera(["alerts", "export", "--rules", "bad.yaml"], dir);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('tessera: bad.yaml line 5: rules[0].for: "soon" is not a duration; write e.g. 30s, 5m, 1h30m\n');
  });
});
