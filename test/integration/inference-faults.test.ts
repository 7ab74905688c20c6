import { createHash } from "node:crypto";
import { request as httpRequest } from "node:http";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { ModelState } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { buildMlp } from "../../libs/onnx/index.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { callCode } from "../support/call-outcome.js";

const fraud = exampleModel("fraud");
const fraudBytes = fraud.build();
const features = Array.from(fraud.sampleRow(3).get("features")!.data as Float32Array);
const modelName = () => uniqueName("faults").replace(/_/g, "-");

async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

describe("inference replica: session threads that die or hang", () => {
  let registry: TestRegistry;
  let replica: TestReplica;
  let cacheDir: string;
  let crashed: string;
  let hung: string;

  const predict = (model: string) =>
    replica.client.predict({ model, inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: features }] }, { timeoutMs: 120_000 });
  const runnerOf = (model: string) => replica.replica.manager.resolve({ model, version: 1 }).runner;
  const stateOf = async (model: string) => (await replica.client.listServedModels({})).models.find((m) => m.model === model)?.state;

  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
    cacheDir = await mkdtemp(join(tmpdir(), "inference-faults-"));
    crashed = modelName();
    hung = modelName();
    for (const model of [crashed, hung]) await uploadModelVersion(registry.client, { model, createModel: true }, fraudBytes);
    replica = await startTestReplica(registry, {
      serve: [
        { model: crashed, version: 1 },
        { model: hung, version: 1 },
      ],
      // Hung sessions are simulated on threads only (EventLoopSession.hang); auto could put fraud on the event loop.
      config: { instanceCount: 1, drainGraceMs: 300, modelCacheDir: cacheDir, sessionPlacement: "thread" },
    });
  });

  afterAll(async () => {
    await replica?.stop();
    await registry?.stop();
    if (cacheDir) await rm(cacheDir, { recursive: true, force: true });
  });

  it("loads sessions from the artifact written once under its sha256", async () => {
    const folders = await readdir(cacheDir);
    // Both models have the same bytes: one file serves them.
    expect(folders).toHaveLength(1);
    expect(folders[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(await readdir(join(cacheDir, folders[0]!))).toEqual(["model.onnx"]);
  });

  it("replaces a session whose thread dies under load: its request is UNAVAILABLE, the rest succeed", async () => {
    const runner = runnerOf(crashed);
    const codes: (Code | "ok")[] = [];
    let stop = false;
    const loops = Array.from({ length: 3 }, async () => {
      while (!stop) codes.push(await callCode(predict(crashed)));
    });
    await until(() => codes.filter((c) => c === "ok").length >= 10);
    // The thread blocks, so the loops pile up behind its run: one running, two queued.
    runner.faults.hangSessions();
    await until(() => runner.queueDepth >= 2);
    await runner.faults.crashSession("running");
    const before = codes.length;
    await until(() => codes.filter((c) => c === "ok").length >= 10 + 20 && codes.length > before);
    stop = true;
    await Promise.all(loops);

    // Only the request on the dead thread failed, and with a code a client retries; nothing hung.
    expect(codes.filter((c) => c !== "ok")).toEqual([Code.Unavailable]);
    expect(runner.faults.liveSessions).toBe(1);
    expect(await stateOf(crashed)).toBe(ModelState.READY);
    expect(await callCode(predict(crashed))).toBe("ok");
  });

  it("bounds an unload by the drain grace when a run hangs, and loads the same version again meanwhile", async () => {
    const runner = runnerOf(hung);
    runner.faults.hangSessions();
    const running = callCode(predict(hung));
    const queued = callCode(predict(hung));
    await until(() => runner.queueDepth >= 1);
    const unloading = replica.client.unloadModel({ model: hung, version: 1 });
    // Draining (or, on a very slow box, already gone): the load below must come after the unload.
    await until(() => !replica.replica.manager.list().some((m) => m.model === hung && m.state === ModelState.READY));
    // Asked for again while the old one drains: loads once the grace has cut the hung run.
    const loaded = await replica.client.loadModel({ model: hung, selector: { case: "version", value: 1 } });
    expect((await unloading).unloadedVersions).toEqual([1]);
    expect(loaded.model?.state).toBe(ModelState.READY);
    expect(await running).toBe(Code.Unavailable);
    expect(await queued).toBe(Code.Unavailable);
    expect(await callCode(predict(hung))).toBe("ok");
  });

  it("takes a version that loses every session out of service and loads it again, repairing its cached file", async () => {
    const model = modelName();
    const bytes = buildMlp({ ...fraud.mlp!, seed: 4242 });
    await uploadModelVersion(registry.client, { model, createModel: true }, bytes);
    await replica.client.loadModel({ model, selector: { case: "version", value: 1 } });
    const runner = runnerOf(model);
    // No new session can load from a damaged file: the dead one cannot be replaced.
    const path = join(cacheDir, createHash("sha256").update(bytes).digest("hex"), "model.onnx");
    await writeFile(path, "damaged");
    runner.faults.hangSessions();
    const running = callCode(predict(model));
    const queued = callCode(predict(model));
    await until(() => runner.queueDepth >= 1);
    await runner.faults.crashSession("running");
    expect(await running).toBe(Code.Unavailable);
    expect(await queued).toBe(Code.Unavailable);
    // FAILED for a passing reason while it reloads (UNAVAILABLE to callers), then READY from a fresh download.
    while ((await stateOf(model)) !== ModelState.READY) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(await callCode(predict(model))).toBe("ok");
    expect(new Uint8Array(await readFile(path))).toEqual(bytes);
  });

  it("answers an oversized REST body 413, which no client retries, before reading it", async () => {
    const url = new URL(`${replica.httpUrl}/v2/models/${crashed}/infer`);
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers: { "content-type": "application/json", "content-length": String(1024 * 1024 * 1024) } });
      req.on("response", (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
        req.destroy();
      });
      req.on("error", reject);
      req.flushHeaders();
    });
    expect(status).toBe(413);
  });

  it("shuts down while a run hangs", async () => {
    const model = modelName();
    await uploadModelVersion(registry.client, { model, createModel: true }, fraudBytes);
    const other = await startTestReplica(registry, { serve: [{ model, version: 1 }], config: { instanceCount: 1, drainGraceMs: 300, modelCacheDir: cacheDir, sessionPlacement: "thread" } });
    const runner = other.replica.manager.resolve({ model, version: 1 }).runner;
    runner.faults.hangSessions();
    const call = other.client.predict({ model, inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: features }] }, { timeoutMs: 120_000 });
    const running = callCode(call);
    const queued = callCode(other.client.predict({ model, inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: features }] }, { timeoutMs: 120_000 }));
    await until(() => runner.queueDepth >= 1);
    await other.stop();
    expect(runner.faults.liveSessions).toBe(0);
    // Cut by the host's grace (CANCELLED) or the drain's (UNAVAILABLE); either way answered.
    expect([Code.Unavailable, Code.Canceled]).toContain(await running);
    expect([Code.Unavailable, Code.Canceled]).toContain(await queued);
  });
});
