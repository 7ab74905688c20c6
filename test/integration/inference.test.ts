import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fileURLToPath } from "node:url";
import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import * as ort from "onnxruntime-node";
import { ReplicaRecordSchema } from "../../libs/gen/tessera/events/v1/inference_events_pb.js";
import { GRPCInferenceService } from "../../libs/gen/inference/grpc_service_pb.js";
import { InferenceService, ModelState } from "../../libs/gen/tessera/inference/v1/inference_pb.js";
import { DataType } from "../../libs/gen/tessera/registry/v1/signature_pb.js";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { uniqueName } from "../../libs/testing/index.js";
import { exampleModel, failingGatherRow } from "../../mesh/models/index.js";
import { startTestReplica, type TestReplica } from "../support/inference-harness.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";
import { failure } from "../support/call-outcome.js";

const fraud = exampleModel("fraud");
const gather = exampleModel("gather");
const fraudBytes = fraud.build();

/** One row of the fraud model's input, and what onnxruntime-node itself answers for it. */
async function directRun(features: Float32Array): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(fraudBytes);
  const result = await session.run({ features: new ort.Tensor("float32", features, [1, 16]) });
  await session.release();
  return result.score!.data as Float32Array;
}

const modelName = () => uniqueName("fraud").replace(/_/g, "-");

describe("inference replica", () => {
  let registry: TestRegistry;
  let replica: TestReplica;
  let model: string;
  let gatherModel: string;
  const features = fraud.sampleRow(1).get("features")!.data as Float32Array;
  let expected: Float32Array;

  beforeAll(async () => {
    registry = await startTestRegistry({ mode: "nats" });
    model = modelName();
    gatherModel = modelName();
    await uploadModelVersion(registry.client, { model, createModel: true, aliases: ["production"], batching: { enabled: true, maxBatchSize: 16 } }, fraudBytes);
    await uploadModelVersion(registry.client, { model: gatherModel, createModel: true }, gather.build());
    replica = await startTestReplica(registry, {
      serve: [
        { model, alias: "production" },
        { model: gatherModel, version: 1 },
      ],
    });
    expected = await directRun(features);
  });

  afterAll(async () => {
    await replica?.stop();
    await registry?.stop();
  });

  it("loads what it was told to serve and reports READY", async () => {
    const { models } = await replica.client.listServedModels({});
    const byName = new Map(models.map((m) => [m.model, m]));
    expect(byName.get(model)).toMatchObject({ version: 1, aliases: ["production"], state: ModelState.READY, device: "cpu", instanceCount: 1 });
    expect(byName.get(model)?.batching).toMatchObject({ enabled: true, maxBatchSize: 16 });
    expect(byName.get(gatherModel)).toMatchObject({ version: 1, aliases: [], state: ModelState.READY });
    expect((await replica.oip.serverReady({})).ready).toBe(true);
    expect(replica.replica.host.isReady()).toBe(true);
  });

  it("answers Predict over gRPC bit for bit as onnxruntime-node does", async () => {
    const response = await replica.client.predict({
      model,
      inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: Array.from(features) }],
    });
    expect(response).toMatchObject({ model, version: 1 });
    expect(response.requestId).not.toBe("");
    const score = response.outputs[0]!;
    expect(score).toMatchObject({ name: "score", dtype: DataType.FLOAT32, shape: [1n, 1n] });
    expect(Float32Array.from(score.floatData)).toEqual(expected);
    expect(response.timing?.batchSize).toBeGreaterThanOrEqual(1);
  });

  it("answers raw requests with raw outputs", async () => {
    const response = await replica.client.predict({
      model,
      alias: "production",
      inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], rawData: new Uint8Array(features.buffer.slice(0)) }],
    });
    const raw = response.outputs[0]!.rawData;
    expect(new Float32Array(new Uint8Array(raw).buffer)).toEqual(expected);
  });

  it("answers OIP ModelInfer with typed contents", async () => {
    const response = await replica.oip.modelInfer({
      modelName: model,
      id: "typed-1",
      inputs: [{ name: "features", datatype: "FP32", shape: [1n, 16n], contents: { fp32Contents: Array.from(features) } }],
    });
    expect(response).toMatchObject({ modelName: model, modelVersion: "1", id: "typed-1" });
    expect(response.rawOutputContents).toHaveLength(0);
    expect(response.outputs[0]).toMatchObject({ name: "score", datatype: "FP32", shape: [1n, 1n] });
    expect(Float32Array.from(response.outputs[0]!.contents!.fp32Contents)).toEqual(expected);
  });

  it("answers OIP ModelInfer with raw_input_contents in raw_output_contents", async () => {
    const response = await replica.oip.modelInfer({
      modelName: model,
      modelVersion: "1",
      inputs: [{ name: "features", datatype: "FP32", shape: [1n, 16n] }],
      rawInputContents: [new Uint8Array(features.buffer.slice(0))],
    });
    expect(response.rawOutputContents).toHaveLength(1);
    expect(new Float32Array(new Uint8Array(response.rawOutputContents[0]!).buffer)).toEqual(expected);
  });

  it("answers a foreign Triton-style client (grpc-js + proto-loader) with the same numbers as Predict", async () => {
    const protoPath = fileURLToPath(new URL("../../proto/inference/grpc_service.proto", import.meta.url));
    const definition = protoLoader.loadSync(protoPath, { keepCase: true, longs: String, defaults: true });
    const pkg = grpc.loadPackageDefinition(definition) as unknown as { inference: { GRPCInferenceService: grpc.ServiceClientConstructor } };
    type Answer = { model_name: string; model_version: string; outputs: { name: string; datatype: string; shape: string[]; contents: { fp32_contents: number[] } }[] };
    const client = new pkg.inference.GRPCInferenceService(replica.replica.host.grpcAddress, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
      ModelInfer(request: object, callback: (error: grpc.ServiceError | null, response: Answer) => void): void;
    };
    const answer = await new Promise<Answer>((resolve, reject) =>
      client.ModelInfer(
        {
          model_name: model,
          inputs: [{ name: "features", datatype: "FP32", shape: [1, 16], contents: { fp32_contents: Array.from(features) } }],
          parameters: { priority: { uint64_param: 1 }, timeout: { int64_param: 10_000_000 } },
        },
        (error: grpc.ServiceError | null, response: Answer) => (error ? reject(error) : resolve(response)),
      ),
    );
    client.close();
    expect(answer).toMatchObject({ model_name: model, model_version: "1" });
    expect(answer.outputs[0]).toMatchObject({ name: "score", datatype: "FP32", shape: ["1", "1"] });
    expect(Float32Array.from(answer.outputs[0]!.contents.fp32_contents)).toEqual(expected);
  });

  it("serves Predict as Connect JSON to plain fetch", async () => {
    const response = await fetch(`${replica.httpUrl}/tessera.inference.v1.InferenceService/Predict`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, inputs: [{ name: "features", dtype: "DATA_TYPE_FLOAT32", shape: ["1", "16"], floatData: Array.from(features) }] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { model: string; version: number; outputs: { name: string; floatData: number[] }[] };
    expect(body).toMatchObject({ model, version: 1 });
    expect(Float32Array.from(body.outputs[0]!.floatData)).toEqual(expected);
  });

  it("serves the OIP REST infer route to plain fetch", async () => {
    const response = await fetch(`${replica.httpUrl}/v2/models/${model}/infer`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ id: "rest-1", inputs: [{ name: "features", shape: [1, 16], datatype: "FP32", data: Array.from(features) }] }),
    });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { model_name: string; model_version: string; id: string; outputs: { name: string; datatype: string; shape: number[]; data: number[] }[] };
    expect(body).toMatchObject({ model_name: model, model_version: "1", id: "rest-1" });
    expect(body.outputs[0]).toMatchObject({ name: "score", datatype: "FP32", shape: [1, 1] });
    expect(Float32Array.from(body.outputs[0]!.data)).toEqual(expected);
  });

  it("runs several rows and an int64 input (gather)", async () => {
    const width = (gather.sampleRow(0).get("x")!.shape[1] ?? 0) as number;
    const xs = new Float32Array(2 * width).map((_, i) => i / 10);
    const response = await replica.client.predict({
      model: gatherModel,
      inputs: [
        { name: "x", dtype: DataType.FLOAT32, shape: [2n, BigInt(width)], floatData: Array.from(xs) },
        { name: "idx", dtype: DataType.INT64, shape: [2n], int64Data: [0n, 1n] },
      ],
    });
    expect(response.outputs[0]?.shape).toEqual([2n, BigInt(width)]);
    expect(response.outputs[0]?.floatData).toHaveLength(2 * width);
  });

  it("answers Predict and ModelInfer with float and int64 inputs over gRPC (typed-array codec) bit for bit as over Connect binary and JSON (protobuf-es)", async () => {
    const width = (gather.sampleRow(0).get("x")!.shape[1] ?? 0) as number;
    // Large enough for the typed path both ways (small messages are protobuf-es's alone: libs/host typed-fields.ts).
    const rows = 40;
    const xs = new Float32Array(rows * width).map((_, i) => (i % 7 === 0 ? -0 : Math.fround(Math.sin(i) * 1e3)));
    const idx = Array.from({ length: rows }, (_, i) => BigInt(i % 2));
    const predict = {
      model: gatherModel,
      inputs: [
        { name: "x", dtype: DataType.FLOAT32, shape: [BigInt(rows), BigInt(width)], floatData: Array.from(xs) },
        { name: "idx", dtype: DataType.INT64, shape: [BigInt(rows)], int64Data: idx },
      ],
    };
    const infer = {
      modelName: gatherModel,
      inputs: [
        { name: "x", datatype: "FP32", shape: [BigInt(rows), BigInt(width)], contents: { fp32Contents: Array.from(xs) } },
        { name: "idx", datatype: "INT64", shape: [BigInt(rows)], contents: { int64Contents: idx } },
      ],
    };
    const bits = (values: ArrayLike<number>) => Array.from(new Uint32Array(Float32Array.from(values).buffer));
    const overGrpc = await replica.client.predict(predict);
    const oipOverGrpc = await replica.oip.modelInfer(infer);
    const expectedBits = bits(overGrpc.outputs[0]!.floatData);
    expect(overGrpc.outputs[0]!.shape).toEqual([BigInt(rows), BigInt(width)]);
    expect(bits(oipOverGrpc.outputs[0]!.contents!.fp32Contents)).toEqual(expectedBits);
    for (const useBinaryFormat of [true, false]) {
      const transport = createConnectTransport({ baseUrl: replica.httpUrl, httpVersion: "1.1", useBinaryFormat });
      const overConnect = await createClient(InferenceService, transport).predict(predict);
      expect(bits(overConnect.outputs[0]!.floatData)).toEqual(expectedBits);
      const oipOverConnect = await createClient(GRPCInferenceService, transport).modelInfer(infer);
      expect(bits(oipOverConnect.outputs[0]!.contents!.fp32Contents)).toEqual(expectedBits);
    }
  });

  it("answers INVALID_ARGUMENT for a row the model itself rejects, and still answers the good one beside it", async () => {
    const toTensors = (row: Map<string, { dtype: DataType; shape: readonly number[]; data: Float32Array | BigInt64Array }>) =>
      [...row].map(([name, t]) =>
        t.data instanceof BigInt64Array
          ? { name, dtype: t.dtype, shape: t.shape.map(BigInt), int64Data: Array.from(t.data) }
          : { name, dtype: t.dtype, shape: t.shape.map(BigInt), floatData: Array.from(t.data) },
      );
    const [bad, good] = await Promise.allSettled([
      replica.client.predict({ model: gatherModel, inputs: toTensors(failingGatherRow()) }),
      replica.client.predict({ model: gatherModel, inputs: toTensors(gather.sampleRow(2)) }),
    ]);
    expect(bad.status).toBe("rejected");
    const error = ConnectError.from((bad as PromiseRejectedResult).reason);
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain(`${gatherModel}@1 failed on this input`);
    expect(good.status).toBe("fulfilled");
  });

  describe("refuses bad inputs with INVALID_ARGUMENT naming the tensor", () => {
    const predict = (tensor: object) => replica.client.predict({ model, inputs: [tensor] });

    it.each([
      ["a wrong name", { name: "feature", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: new Array(16).fill(0) }, /unknown input 'feature'.*missing input 'features'/],
      ["a wrong dtype", { name: "features", dtype: DataType.FLOAT64, shape: [1n, 16n], doubleData: new Array(16).fill(0) }, /input 'features'.*send FP32 values/],
      ["a wrong shape", { name: "features", dtype: DataType.FLOAT32, shape: [1n, 8n], floatData: new Array(8).fill(0) }, /input 'features'.*dimension 1 must be 16/],
      ["a NaN", { name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: [...new Array(15).fill(0), NaN] }, /input 'features' has NaN/],
    ])("for %s", async (_case, tensor, message) => {
      const error = await failure(predict(tensor));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toMatch(message);
    });

    it("over OIP gRPC and REST too", async () => {
      const error = await failure(
        replica.oip.modelInfer({ modelName: model, inputs: [{ name: "features", datatype: "FP32", shape: [1n, 15n], contents: { fp32Contents: new Array(15).fill(0) } }] }),
      );
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toContain("input 'features'");
      const response = await fetch(`${replica.httpUrl}/v2/models/${model}/infer`, {
        method: "POST",
        body: JSON.stringify({ inputs: [{ name: "features", shape: [1, 16], datatype: "INT32", data: new Array(16).fill(0) }] }),
      });
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toContain("input 'features'");
    });

    it("for an unknown output name", async () => {
      const error = await failure(
        replica.client.predict({ model, outputNames: ["nope"], inputs: [{ name: "features", dtype: DataType.FLOAT32, shape: [1n, 16n], floatData: Array.from(features) }] }),
      );
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toMatch(/unknown output 'nope'.*'score'/);
    });
  });

  it("answers NOT_FOUND for an unknown model, listing what it serves", async () => {
    const error = await failure(replica.client.predict({ model: "no-such-model", inputs: [] }));
    expect(error.code).toBe(Code.NotFound);
    expect(error.rawMessage).toContain(`${model}@production (version 1)`);
    const oipError = await failure(replica.oip.modelInfer({ modelName: model, modelVersion: "9", inputs: [] }));
    expect(oipError.code).toBe(Code.NotFound);
    const response = await fetch(`${replica.httpUrl}/v2/models/no-such-model/infer`, { method: "POST", body: "{}" });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: string }).error).toContain("not served by this replica");
  });

  it("describes itself and its models over OIP gRPC and REST", async () => {
    expect(await replica.oip.serverLive({})).toMatchObject({ live: true });
    expect(await replica.oip.serverMetadata({})).toMatchObject({ name: "tessera", extensions: expect.arrayContaining(["statistics"]) });
    expect(await replica.oip.modelReady({ name: model, version: "" })).toMatchObject({ ready: true });
    const metadata = await replica.oip.modelMetadata({ name: model, version: "production" });
    expect(metadata).toMatchObject({ name: model, versions: ["1"], platform: "onnxruntime_onnx" });
    expect(metadata.inputs[0]).toMatchObject({ name: "features", datatype: "FP32", shape: [-1n, 16n] });
    expect(metadata.outputs[0]).toMatchObject({ name: "score", datatype: "FP32", shape: [-1n, 1n] });

    expect((await fetch(`${replica.httpUrl}/v2/health/live`)).status).toBe(200);
    expect((await fetch(`${replica.httpUrl}/v2/health/ready`)).status).toBe(200);
    expect(await (await fetch(`${replica.httpUrl}/v2`)).json()).toMatchObject({ name: "tessera" });
    const rest = (await (await fetch(`${replica.httpUrl}/v2/models/${model}`)).json()) as object;
    expect(rest).toMatchObject({ name: model, platform: "onnxruntime_onnx", inputs: [{ name: "features", datatype: "FP32", shape: [-1, 16] }] });
    expect((await fetch(`${replica.httpUrl}/v2/models/${model}/versions/1/ready`)).status).toBe(200);
    expect((await fetch(`${replica.httpUrl}/v2/models/no-such-model/ready`)).status).toBe(404);
  });

  it("reports statistics from the batcher and metrics on /metrics", async () => {
    const { modelStats } = await replica.oip.modelStatistics({ name: model, version: "" });
    expect(modelStats).toHaveLength(1);
    expect(modelStats[0]).toMatchObject({ name: model, version: "1" });
    expect(modelStats[0]!.inferenceCount).toBeGreaterThan(0n);
    expect(modelStats[0]!.executionCount).toBeGreaterThan(0n);
    expect(modelStats[0]!.inferenceStats?.success?.count).toBeGreaterThan(0n);
    const metrics = await (await fetch(`${replica.httpUrl}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`tessera_inference_requests_total\\{model="${model}",version="1",status="OK"\\} \\d+`));
    expect(metrics).toMatch(new RegExp(`tessera_inference_requests_total\\{model="${model}",version="1",status="InvalidArgument"\\} \\d+`));
    expect(metrics).toMatch(new RegExp(`tessera_inference_batch_size_bucket\\{le="1",model="${model}",version="1"\\} \\d+`));
    expect(metrics).toMatch(new RegExp(`tessera_inference_queue_depth\\{model="${model}",version="1"\\} 0`));
  });

  it("publishes its membership record in the replicas bucket", async () => {
    const keys = await replica.membership.keys();
    expect(keys).toHaveLength(1);
    const entry = await replica.membership.get(keys[0]!);
    const record = fromBinary(ReplicaRecordSchema, entry!.value);
    expect(record.grpcAddress).toBe(replica.replica.host.grpcAddress);
    expect(record.device).toBe("cpu");
    // One loop on a CPU device (TESSERA_FRONTEND_LOOPS auto): the router keeps one connection.
    expect(record.frontendLoops).toBe(1);
    expect(record.models.map((m) => m.model).sort()).toEqual([model, gatherModel].sort());
    expect(record.heartbeatTime).toBeDefined();
  });

  it("loads and unloads a version on request", async () => {
    const loaded = await replica.client.loadModel({ model: gatherModel, selector: { case: "alias", value: "latest" } });
    expect(loaded.model).toMatchObject({ model: gatherModel, version: 1, state: ModelState.READY, aliases: ["latest"] });
    const error = await failure(replica.client.loadModel({ model: gatherModel, selector: { case: "version", value: 5 } }));
    expect(error.code).toBe(Code.NotFound);
    expect((await replica.client.listServedModels({})).models.filter((m) => m.model === gatherModel)).toHaveLength(1);
    expect(await replica.client.unloadModel({ model: gatherModel, version: 0 })).toMatchObject({ unloadedVersions: [1] });
    expect((await failure(replica.client.predict({ model: gatherModel, inputs: [] }))).code).toBe(Code.NotFound);
    expect((await failure(replica.client.unloadModel({ model: gatherModel, version: 0 }))).code).toBe(Code.NotFound);
  });
});
