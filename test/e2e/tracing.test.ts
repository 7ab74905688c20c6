import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { InferenceService } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { createMeshClient } from "../../libs/host/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { testNatsUrl, uniqueName } from "../../libs/testing/index.js";
import { repoRoot } from "../../mesh/launcher/repo-root.js";
import { ensureExampleModels, exampleModel } from "../../mesh/models/index.js";
import { SPAN_KIND, startOtlpReceiver, type OtlpReceiver } from "../support/otlp-receiver.js";

// The registry and an inference replica as processes of their own (the
// built dist/, as `tessera up` runs them), exporting real OTLP/HTTP (JSON)
// to a receiver this test runs: one trace id must cover the caller, the
// registry, the NATS event and the replica's consumer, and the calls that
// consumer makes back to the registry.

const { SERVER, CLIENT, PRODUCER, CONSUMER } = SPAN_KIND;
let receiver: OtlpReceiver | undefined;
const children: ChildProcess[] = [];
let modelsDir: string;

/** Starts a service's main.js and resolves with the addresses it logs once listening. */
function startProcess(service: string, env: Record<string, string>): Promise<{ grpc: string; http: string }> {
  const child = spawn(process.execPath, [join(repoRoot(), "dist", "services", service, "main.js")], {
    env: {
      ...process.env,
      ...env,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver!.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      // Export every few hundred ms, not every 5 s.
      OTEL_BSP_SCHEDULE_DELAY: "200",
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  children.push(child);
  const log: string[] = [];
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${service} exited with ${code}:\n${log.join("\n")}`)));
    createInterface({ input: child.stderr! }).on("line", (line) => {
      log.push(line);
      try {
        const parsed = JSON.parse(line) as { msg?: string; grpc?: string; http?: string };
        if (parsed.msg === "listening" && parsed.grpc && parsed.http) resolve({ grpc: parsed.grpc, http: parsed.http });
      } catch {
        // not a JSON line
      }
    });
  });
}

/** Waits (polling) until `check` holds; expect.poll works only inside a test. */
async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check().catch(() => false))) {
    if (Date.now() > until) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const traceparent = () => {
  const traceId = randomBytes(16).toString("hex");
  return { traceId, header: `00-${traceId}-${randomBytes(8).toString("hex")}-01` };
};
const inTrace = (traceId: string) => receiver!.inTrace(traceId);
const has = (traceId: string, service: string, kind: number, name: RegExp) => inTrace(traceId).some((s) => s.service === service && s.kind === kind && name.test(s.name));

const model = uniqueName("traced");
let registry: ReturnType<typeof createMeshClient<typeof RegistryService>>;
let inference: ReturnType<typeof createMeshClient<typeof InferenceService>>;
let artifact: Uint8Array;

beforeAll(async () => {
  const registryMain = join(repoRoot(), "dist", "services", "registry", "main.js");
  if (!existsSync(registryMain)) throw new Error(`${registryMain} is missing: run \`npm run build\` first (\`npm test\` does)`);
  receiver = await startOtlpReceiver();
  modelsDir = await mkdtemp(join(tmpdir(), "tessera-tracing-"));
  const fraud = exampleModel("fraud");
  await ensureExampleModels(modelsDir, [fraud]);
  artifact = new Uint8Array(await readFile(join(modelsDir, "fraud.onnx")));

  const natsUrl = testNatsUrl();
  const registryAt = await startProcess("registry", {
    NATS_URL: natsUrl,
    TESSERA_REGISTRY_GRPC_PORT: "0",
    TESSERA_REGISTRY_HTTP_PORT: "0",
    TESSERA_REGISTRY_BUCKET: uniqueName("reg"),
    TESSERA_ARTIFACT_BUCKET: uniqueName("art"),
  });
  registry = createMeshClient(RegistryService, { address: registryAt.grpc, defaultTimeoutMs: 30_000 });
  await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"] }, artifact, { timeoutMs: 30_000 });

  const inferenceAt = await startProcess("inference", {
    NATS_URL: natsUrl,
    TESSERA_INFERENCE_GRPC_PORT: "0",
    TESSERA_INFERENCE_HTTP_PORT: "0",
    TESSERA_REGISTRY_ADDRESS: registryAt.grpc,
    TESSERA_SERVE: `${model}@production`,
    TESSERA_REPLICA_ID: uniqueName("traced"),
  });
  inference = createMeshClient(InferenceService, { address: inferenceAt.grpc, defaultTimeoutMs: 30_000 });
  await waitFor(async () => (await fetch(`http://${inferenceAt.http}/readyz`)).status === 200, `the replica at ${inferenceAt.http} to be ready`);
}, 120_000);

afterAll(async () => {
  registry?.close();
  inference?.close();
  for (const child of children) child.kill("SIGTERM");
  await Promise.all(children.map((child) => (child.exitCode === null ? new Promise((resolve) => child.once("exit", resolve)) : undefined)));
  await receiver?.close();
  if (modelsDir) await rm(modelsDir, { recursive: true, force: true });
});

describe("tracing end to end, over OTLP/HTTP from real processes", () => {
  it("follows an alias move from the caller through the registry, NATS and the replica's consumer back to the registry", async () => {
    await uploadModelVersion(registry.client, { model }, artifact, { timeoutMs: 30_000 });
    const { traceId, header } = traceparent();
    await registry.client.setAlias({ model, alias: "production", version: 2 }, { headers: { traceparent: header } });

    await expect
      .poll(
        () => ({
          setAlias: has(traceId, "tessera-registry", SERVER, /RegistryService\/SetAlias$/),
          published: has(traceId, "tessera-registry", PRODUCER, /^publish /),
          consumed: has(traceId, "tessera-inference", CONSUMER, /^process /),
          replicaCallsRegistry: has(traceId, "tessera-inference", CLIENT, /^tessera\.registry\.v1\.RegistryService\//),
          registryAnswersReplica: inTrace(traceId).some((s) => s.service === "tessera-registry" && s.kind === SERVER && !/SetAlias$/.test(s.name)),
        }),
        { timeout: 60_000, interval: 200 },
      )
      .toEqual({ setAlias: true, published: true, consumed: true, replicaCallsRegistry: true, registryAnswersReplica: true });

    // Parent links hold across the processes: consumer under producer, producer under the SetAlias span.
    const spans = inTrace(traceId);
    const setAlias = spans.find((s) => s.kind === SERVER && /SetAlias$/.test(s.name))!;
    // The registry's publishes sit under SetAlias, and the replica's consumer under one of them. The replica may
    // publish events of its own later in the trace (it loads the version), so spans are picked by service.
    const producers = spans.filter((s) => s.kind === PRODUCER && s.service === "tessera-registry");
    const consumers = spans.filter((s) => s.kind === CONSUMER && s.service === "tessera-inference");
    expect(producers.length).toBeGreaterThan(0);
    for (const producer of producers) expect(producer.parentSpanId).toBe(setAlias.spanId);
    expect(consumers.some((consumer) => producers.some((p) => p.spanId === consumer.parentSpanId))).toBe(true);
  });

  it("traces a Predict the caller started, on the replica", async () => {
    const { traceId, header } = traceparent();
    await inference.client.predict(
      { model, inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: Array.from({ length: 16 }, () => 0.5) }] },
      { headers: { traceparent: header } },
    );
    await expect.poll(() => has(traceId, "tessera-inference", SERVER, /InferenceService\/Predict$/), { timeout: 60_000, interval: 200 }).toBe(true);
    const predict = inTrace(traceId).find((s) => s.kind === SERVER)!;
    const attributes = Object.fromEntries((predict.attributes ?? []).map((a) => [a.key, a.value.stringValue ?? Number(a.value.intValue)]));
    expect(attributes).toMatchObject({ "rpc.system": "grpc", "rpc.service": "tessera.inference.v1.InferenceService", "rpc.method": "Predict", "rpc.grpc.status_code": 0 });
  });
});
