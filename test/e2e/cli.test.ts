import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../../libs/log/index.js";
import { buildMlp, mlpReference, withExternalData } from "../../libs/onnx/index.js";
import { downloadArtifact } from "../../libs/registry-client/index.js";
import { testNatsUrl, testRedisUrl, uniqueName } from "../../libs/testing/index.js";
import { dropBuckets } from "../../mesh/launcher/drop-buckets.js";
import { ensureExampleModels, exampleModel } from "../../mesh/models/index.js";
import { readInferenceConfig } from "../../services/inference/config.js";
import { startInference, type InferenceReplica } from "../../services/inference/start-inference.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { runNode, tesseraCli, type NodeRun as Run } from "../support/run-node.js";

// Each test spawns `tessera` processes (a Node start-up each, seconds on a loaded 2-core machine).
vi.setConfig({ testTimeout: 120_000, hookTimeout: 180_000 });

// The built CLI (`npm test` builds first), run as a person would, against a
// registry and an inference replica this file starts on ephemeral ports.
const cli = tesseraCli;

const tessera = (args: string[], env: Record<string, string> = {}, cwd?: string): Promise<Run> => runNode(cli, args, { env, cwd });

const fraud = exampleModel("fraud");
const row = [...(fraud.sampleRow(3).get("features")!.data as Float32Array)];

let registry: TestRegistry;
let replica: InferenceReplica;
let modelsDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first (\`npm test\` does)`);
  modelsDir = await mkdtemp(join(tmpdir(), "tessera-cli-"));
  await ensureExampleModels(modelsDir, [fraud]);
  registry = await startTestRegistry();
  replica = await startInference({
    config: readInferenceConfig({
      TESSERA_INFERENCE_GRPC_PORT: "0",
      TESSERA_INFERENCE_HTTP_PORT: "0",
      TESSERA_REGISTRY_ADDRESS: registry.host.grpcAddress,
      TESSERA_REPLICA_ID: uniqueName("cli"),
    }),
    registryClient: registry.client,
    events: registry.backends.events,
    logger: silentLogger,
  });
  env = { TESSERA_REGISTRY_ADDRESS: registry.host.grpcAddress, TESSERA_INFERENCE_ADDRESS: replica.host.grpcAddress };
});

afterAll(async () => {
  await replica?.stop();
  await registry?.stop();
  if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
});

describe("tessera models", () => {
  it("pushes a file as a new model with an alias, printing the version and its signature", async () => {
    const run = await tessera(["models", "push", join(modelsDir, "fraud.onnx"), "--name", "fraud", "--alias", "production", "--tag", "team=risk", "--description", "first"], env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^pushed fraud v1 \(5\.\d kB, sha256 [0-9a-f]{12}\), aliases production\n/);
    expect(run.stdout).toMatch(/input\s+features\s+float32\s+\[batch, 16\]/);
    expect(run.stdout).toMatch(/output\s+score\s+float32\s+\[batch, 1\]/);
  });

  it("pushes a model with external data together with the files it names beside it", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tessera-cli-ext-"));
    try {
      const split = withExternalData(buildMlp({ name: "ext", layers: [16, 8, 1], seed: 5 }), (_tensor, index) => (index === 0 ? "data/first.bin" : "weights.bin"));
      await mkdir(join(dir, "data"));
      await writeFile(join(dir, "model.onnx"), split.model);
      for (const [path, bytes] of split.files) await writeFile(join(dir, path), bytes);
      const name = uniqueName("ext").replace(/_/g, "-");
      const run = await tessera(["models", "push", join(dir, "model.onnx"), "--name", name], env);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(new RegExp(`^pushed ${name} v1 \\([\\d.]+ k?B \\+ 2 external data files \\([\\d.]+ k?B\\), sha256 [0-9a-f]{12}\\)\n`));
      const downloaded = await downloadArtifact(registry.client, { model: name, selector: { case: "version", value: 1 } }, { includeExternalData: true });
      expect(downloaded.externalData.map((f) => [f.path, Buffer.from(f.bytes).equals(Buffer.from(split.files.get(f.path)!))])).toEqual([
        ["data/first.bin", true],
        ["weights.bin", true],
      ]);

      // Without the file beside it, nothing is sent, and the message says which file and where.
      await rm(join(dir, "weights.bin"));
      const other = uniqueName("ext").replace(/_/g, "-");
      const missing = await tessera(["models", "push", join(dir, "model.onnx"), "--name", other], env);
      expect(missing.code).toBe(1);
      expect(missing.stderr).toMatch(/^tessera: .*model\.onnx keeps tensor "[^"]+" \(and \d+ more\) in external data "weights\.bin", but .*weights\.bin does not exist: put the file there \(its path is relative to the model file\), or save the model with its weights inline\n$/);
      expect((await tessera(["models", "show", other], env)).code).toBe(1);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("lists the model with its alias, and shows its versions and one version in full", async () => {
    await tessera(["models", "push", join(modelsDir, "fraud.onnx"), "--name", "fraud"], env);
    const ls = await tessera(["models", "ls"], env);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/^fraud\s+v2\s+production→v1\s/m);

    const show = await tessera(["models", "show", "fraud"], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain("  tags         team=risk");
    expect(show.stdout).toMatch(/^v2\s+none\s/m);
    expect(show.stdout).toMatch(/^v1\s+none\s+production\s/m);

    const one = await tessera(["models", "show", "fraud", "--alias", "production"], env);
    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/^model fraud v1\n\s+stage\s+none\n\s+aliases\s+production/);
  });

  it("moves and deletes aliases and changes stages", async () => {
    const set = await tessera(["models", "alias", "fraud", "staging", "1"], env);
    expect(set).toMatchObject({ code: 0, stdout: "fraud@staging → v1 (new alias)\n" });
    const moved = await tessera(["models", "alias", "fraud", "staging", "2"], env);
    expect(moved.stdout).toBe("fraud@staging → v2 (was v1)\n");
    const deleted = await tessera(["models", "alias", "fraud", "staging", "--delete"], env);
    expect(deleted).toMatchObject({ code: 0, stdout: "deleted alias staging of fraud\n" });

    expect((await tessera(["models", "stage", "fraud", "1", "production"], env)).stdout).toBe("fraud v1 is now production\n");
    const archived = await tessera(["models", "stage", "fraud", "2", "production", "--archive-existing"], env);
    expect(archived).toMatchObject({ code: 0, stdout: "fraud v2 is now production; archived v1\n" });
    expect((await tessera(["models", "ls"], env)).stdout).toMatch(/v2 production, v1 archived/);
  });

  it("answers exit 1 and a clear line for a model that does not exist", async () => {
    const run = await tessera(["models", "show", "nope"], env);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(`tessera: model "nope" not found in the registry at ${registry.host.grpcAddress}; \`tessera models ls\` lists its models, \`tessera models push\` adds one\n`);
  });

  it("answers exit 1 naming the registry it cannot reach", async () => {
    const run = await tessera(["models", "ls", "--registry", "127.0.0.1:1"], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^tessera: cannot reach the registry at 127\.0\.0\.1:1 \(connection refused\)/);
  });

  it.each([
    ["an unknown flag", ["models", "ls", "--bogus"], "tessera models ls: unknown option '--bogus' (see `tessera models ls --help`)\n"],
    ["a version that is not a number", ["models", "show", "fraud", "--version", "x"], /^tessera models show: option '--version <n>' argument 'x' is invalid/],
    ["an unknown stage", ["models", "stage", "fraud", "1", "prod"], /^tessera models stage: .*Allowed choices are none, staging, production, archived/],
    ["an alias with neither version nor --delete", ["models", "alias", "fraud", "staging"], 'tessera: missing the version to point "staging" at (or --delete to remove it)\n'],
    // The file does not exist: the name is refused before it would be read.
    ["a file name that is no model name", ["models", "push", "/nowhere/Fraud Model.onnx"], /^tessera: the model name taken from the file name "Fraud Model" is not a valid model name.*; pass --name, e\.g\. --name fraud-model\n$/],
  ])("answers exit 2 for %s", async (_label, args, message) => {
    const run = await tessera(args, env);
    expect(run.code).toBe(2);
    if (typeof message === "string") expect(run.stderr).toBe(message);
    else expect(run.stderr).toMatch(message);
  });

  it("prints help with exit 0", async () => {
    const run = await tessera(["models", "push", "--help"], env);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("Usage: tessera models push [options] <file>");
  });
});

describe("tessera predict", () => {
  beforeAll(async () => {
    await replica.manager.serve("fraud", { alias: "production" });
  });

  it("types the input from the signature and prints the model's answer as JSON", async () => {
    const run = await tessera(["predict", "fraud", "--json", "--input", JSON.stringify({ features: [row] })], env);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const answer = JSON.parse(run.stdout) as { model: string; version: number; outputs: { score: { dtype: string; shape: number[]; data: number[][] } } };
    expect(answer).toMatchObject({ model: "fraud", version: 1, outputs: { score: { dtype: "float32", shape: [1, 1] } } });
    expect(answer.outputs.score.data[0]![0]).toBeCloseTo(mlpReference(fraud.mlp!, Float32Array.from(row), 1)[0]!, 5);
  });

  it("prints nested arrays for a person", async () => {
    const run = await tessera(["predict", "fraud", "--input", JSON.stringify({ features: [row, row] })], env);
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/^fraud v1\s+queue [\d.]+ ms\s+compute [\d.]+ ms\s+batch \d+$/);
    expect(lines[1]).toBe("score float32 [2, 1]");
    expect(lines[2]).toMatch(/^\[\[0\.\d+\], \[0\.\d+\]\]$/);
  });

  it("answers exit 1 listing what the replica serves for a model it does not", async () => {
    const run = await tessera(["predict", "nope", "--input", "{}"], env);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(`tessera: the inference replica at ${replica.host.grpcAddress} does not serve model "nope"; it serves fraud v1 (production)\n`);
  });

  it.each([
    ["a row of the wrong width", { features: [[1, 2]] }, 'tessera: input "features" has shape [1, 2], but dimension 1 of features float32 [batch, 16] must be 16\n'],
    ["an input the model lacks", { x: [[1]] }, 'tessera: the model has no input "x"; it takes features float32 [batch, 16]\n'],
  ])("answers exit 2 for %s, before sending anything", async (_label, input, message) => {
    const run = await tessera(["predict", "fraud", "--input", JSON.stringify(input)], env);
    expect(run).toMatchObject({ code: 2, stderr: message });
  });

  it("answers exit 2 for input that is not JSON", async () => {
    const run = await tessera(["predict", "fraud", "--input", "{features"], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^tessera: --input is not valid JSON/);
  });
});

describe("tessera up", () => {
  /** Starts `tessera up`, waits for its table, and hands back the addresses and a way to stop it. */
  async function up(args: string[], topology: string) {
    const dir = await mkdtemp(join(tmpdir(), "tessera-up-"));
    await writeFile(join(dir, "topology.yaml"), topology);
    const child = spawn(process.execPath, [cli, "up", "--topology", "topology.yaml", ...args], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString("utf8")));
    const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
    const addresses = new Map<string, string>();
    const table = await new Promise<string>((resolve, reject) => {
      let text = "";
      createInterface({ input: child.stdout }).on("line", (line) => {
        text += line + "\n";
        const cells = line.split(/\s+/);
        if (cells[1]?.includes(":") && cells[0] !== "SERVICE") addresses.set(cells[0]!, cells[1]);
        if (line.startsWith("mesh is up")) resolve(text);
      });
      void exited.then((code) => reject(new Error(`tessera up exited (${code}) before it was up:\n${stderr}`)));
    });
    return {
      table,
      addresses,
      async stop() {
        child.kill("SIGTERM");
        const code = await exited;
        await rm(dir, { recursive: true, force: true });
        return { code, stderr };
      },
    };
  }

  it("--embedded runs the registry and a replica in one process, serving what is pushed, and stops on SIGTERM", async () => {
    const mesh = await up(["--embedded"], "registry: {grpc_port: 0, http_port: 0}\nmonitoring: {grpc_port: 0, http_port: 0}\nfeature: {grpc_port: 0, http_port: 0}\ninference:\n  - {serve: [fraud@production], grpc_port: 0, http_port: 0}\n");
    expect(mesh.table).toMatch(/^monitoring\s+127\.0\.0\.1:\d+\s+127\.0\.0\.1:\d+\s+-\s+-\s+ready$/m);
    expect(mesh.table).toMatch(/^feature\s+\S+\s+\S+\s+-\s+online store: memory \(embedded\)\s+ready$/m);
    expect((await tessera(["features", "ls", "--feature", mesh.addresses.get("feature")!])).code).toBe(0);
    expect(mesh.table).toMatch(/^inference-0\s+\S+\s+\S+\s+cpu\s+fraud@production\s+waiting for fraud@production \(not in the registry yet\)$/m);
    const meshEnv = { TESSERA_REGISTRY_ADDRESS: mesh.addresses.get("registry")!, TESSERA_INFERENCE_ADDRESS: mesh.addresses.get("inference-0")! };
    expect((await tessera(["models", "push", join(modelsDir, "fraud.onnx"), "--name", "fraud", "--alias", "production"], meshEnv)).code).toBe(0);
    // The replica follows fraud@production: it loads the version once the alias event arrives.
    let run: Run | undefined;
    for (let attempt = 0; attempt < 50 && run?.code !== 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 200));
      run = await tessera(["predict", "fraud", "--json", "--input", JSON.stringify({ features: [row] })], meshEnv);
    }
    expect(run?.code).toBe(0);
    const stopped = await mesh.stop();
    expect(stopped.code).toBe(0);
    expect(stopped.stderr).toContain("SIGTERM: stopping the mesh\nstopped\n");
  });

  it("starts each service as a process over NATS, and stops them all on SIGTERM", async () => {
    const buckets = { kv: [uniqueName("cli_reg"), uniqueName("cli_feat")], objects: [uniqueName("cli_art")] };
    const topology = [
      `nats_url: ${testNatsUrl()}`,
      "registry:",
      "  grpc_port: 0",
      "  http_port: 0",
      `  env: {TESSERA_REGISTRY_BUCKET: ${buckets.kv[0]}, TESSERA_ARTIFACT_BUCKET: ${buckets.objects[0]}}`,
      "monitoring: {grpc_port: 0, http_port: 0, env: {TESSERA_MONITORING_CONSUMER: " + uniqueName("cli_mon") + "}}",
      `redis_url: ${testRedisUrl()}`,
      `feature: {grpc_port: 0, http_port: 0, env: {TESSERA_FEATURE_BUCKET: ${buckets.kv[1]}, TESSERA_FEATURE_KEY_PREFIX: "${uniqueName("tf")}:"}}`,
      "inference:",
      `  - {id: ${uniqueName("cli")}, grpc_port: 0, http_port: 0}`,
      "",
    ].join("\n");
    try {
      const mesh = await up([], topology);
      expect(mesh.table).toMatch(/live, serving nothing/);
      expect(mesh.table).toMatch(/^monitoring\s+/m);
      expect(mesh.table).toMatch(/^feature\s+\S+\s+\S+\s+-\s+online store: redis\s+ready$/m);
      const ls = await tessera(["models", "ls", "--registry", mesh.addresses.get("registry")!]);
      expect(ls).toMatchObject({ code: 0, stdout: expect.stringContaining("no models yet") as string });
      const stopped = await mesh.stop();
      expect(stopped.code).toBe(0);
    } finally {
      await dropBuckets(testNatsUrl(), buckets);
    }
  });

  it("fails with how to start NATS when NATS does not answer", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tessera-up-"));
    try {
      await writeFile(join(dir, "t.yaml"), "registry: {grpc_port: 0, http_port: 0}\n");
      const run = await tessera(["up", "--topology", "t.yaml"], { NATS_URL: "nats://127.0.0.1:1" }, dir);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(/tessera: cannot reach NATS at nats:\/\/127\.0\.0\.1:1 .*nats-server -js.*tessera up --embedded/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("answers exit 2 naming the key of a bad topology", async () => {
    const dir = await mkdtemp(join(tmpdir(), "tessera-up-"));
    try {
      await writeFile(join(dir, "t.yaml"), "inference:\n  - device: gpu\n");
      const run = await tessera(["up", "--topology", "t.yaml"], {}, dir);
      expect(run.code).toBe(2);
      expect(run.stderr).toBe('tessera: t.yaml: inference[0].device: "gpu" is not a device; use "cpu" or "cuda:N" (N the GPU index, e.g. "cuda:0")\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
