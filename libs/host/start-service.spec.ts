import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { fromBinary, toBinary, create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { EchoService, echoServiceImpl } from "../../test/support/echo-service.js";
import { EchoRequestSchema, EchoResponseSchema } from "../gen/tessera/testing/v1/echo_pb.js";
import { silentLogger } from "../log/index.js";
import { createMeshClient, serve, startService, type ServiceHost } from "./index.js";

const require = createRequire(import.meta.url);

describe("startService()", () => {
  let host: ServiceHost;
  let mesh: ReturnType<typeof createMeshClient<typeof EchoService>>;

  beforeAll(async () => {
    host = await startService({
      name: "echo",
      services: [serve(EchoService, echoServiceImpl)],
      grpcPort: 0,
      httpPort: 0,
      logger: silentLogger,
      maxMessageBytes: 64 * 1024,
      shutdownGraceMs: 2_000,
    });
    mesh = createMeshClient(EchoService, { address: host.grpcAddress });
  });

  afterAll(async () => {
    mesh.close();
    await host.shutdown();
  });

  describe("gRPC port, through the grpc-js mesh client", () => {
    it("answers a unary call and passes headers and the deadline through", async () => {
      const response = await mesh.client.echo({ text: "hi" }, { headers: { "x-echo": "yes" }, timeoutMs: 5_000 });
      expect(response.text).toBe("hi");
      expect(response.header).toBe("yes");
      expect(response.timeoutMs).toBeGreaterThan(0);
      expect(response.timeoutMs).toBeLessThanOrEqual(5_000);
    });

    it("serves server-streaming, client-streaming and bidi calls", async () => {
      const streamed: string[] = [];
      for await (const message of mesh.client.echoStream({ text: "n", count: 3 })) streamed.push(message.text);
      expect(streamed).toEqual(["n 0", "n 1", "n 2"]);

      async function* texts(...values: string[]) {
        for (const text of values) yield { text };
      }
      const collected = await mesh.client.collect(texts("a", "b", "c"));
      expect(collected).toMatchObject({ text: "a,b,c", count: 3 });

      const chatted: string[] = [];
      for await (const message of mesh.client.chat(texts("x", "y"))) chatted.push(message.text);
      expect(chatted).toEqual(["X", "Y"]);
    });

    it("keeps the handler's status code and message", async () => {
      const error = await mesh.client.echo({ text: "gone", failWithCode: Code.NotFound }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConnectError);
      expect((error as ConnectError).code).toBe(Code.NotFound);
      expect((error as ConnectError).rawMessage).toContain("failing as asked: gone");
    });

    it("answers DEADLINE_EXCEEDED when the handler outlives the deadline", async () => {
      const error = await mesh.client.echo({ delayMs: 2_000 }, { timeoutMs: 50 }).catch((e: unknown) => e);
      expect((error as ConnectError).code).toBe(Code.DeadlineExceeded);
    });

    it("answers INVALID_ARGUMENT, not INTERNAL, for a malformed protobuf request", async () => {
      const client = new grpc.Client(host.grpcAddress, grpc.credentials.createInsecure());
      const status = await new Promise<grpc.ServiceError>((resolve) =>
        client.makeUnaryRequest(
          "/tessera.testing.v1.EchoService/Echo",
          (bytes: Buffer) => bytes,
          (bytes: Buffer) => bytes,
          Buffer.from([0x0a, 0xff, 0xff, 0xff]), // field 1, length far past the end
          (error) => resolve(error as grpc.ServiceError),
        ),
      );
      client.close();
      expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
      expect(status.details).toMatch(/not a valid protobuf message/);
    });

    it("answers RESOURCE_EXHAUSTED for a request over the message size limit", async () => {
      const error = await mesh.client.echo({ payload: new Uint8Array(128 * 1024) }).catch((e: unknown) => e);
      expect((error as ConnectError).code).toBe(Code.ResourceExhausted);
    });
  });

  describe("gRPC port, from a foreign client (proto-loader, health, reflection)", () => {
    it("reports NOT_SERVING until the service is ready, then SERVING", async () => {
      const healthProto = grpc.loadPackageDefinition(protoLoader.loadSync(require.resolve("grpc-health-check/proto/health/v1/health.proto"), { enums: String })) as unknown as {
        grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } };
      };
      const client = new healthProto.grpc.health.v1.Health(host.grpcAddress, grpc.credentials.createInsecure());
      const check = (service: string) =>
        new Promise<string>((resolve, reject) =>
          client.check!({ service }, (error: grpc.ServiceError | null, response: { status: string }) => (error ? reject(error) : resolve(response.status))),
        );
      host.setReady(false);
      expect(await check("tessera.testing.v1.EchoService")).toBe("NOT_SERVING");
      host.setReady(true);
      expect(await check("tessera.testing.v1.EchoService")).toBe("SERVING");
      expect(await check("")).toBe("SERVING");
      client.close();
    });

    it("lists our services through server reflection v1", async () => {
      const reflectionProto = grpc.loadPackageDefinition(
        protoLoader.loadSync(require.resolve("@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto")),
      ) as unknown as { grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } } };
      const client = new reflectionProto.grpc.reflection.v1.ServerReflection(host.grpcAddress, grpc.credentials.createInsecure());
      const call = client.ServerReflectionInfo!() as grpc.ClientDuplexStream<object, { listServicesResponse?: { service: { name: string }[] }; fileDescriptorResponse?: { fileDescriptorProto: Buffer[] } }>;
      const answers: Array<{ listServicesResponse?: { service: { name: string }[] }; fileDescriptorResponse?: { fileDescriptorProto: Buffer[] } }> = [];
      const done = new Promise<void>((resolve, reject) => {
        call.on("data", (message) => {
          answers.push(message);
          if (answers.length === 2) call.end();
        });
        call.on("end", resolve);
        call.on("error", reject);
      });
      call.write({ listServices: "*" });
      call.write({ fileContainingSymbol: "tessera.testing.v1.EchoService" });
      await done;
      client.close();
      const names = answers[0]?.listServicesResponse?.service.map((s) => s.name) ?? [];
      expect(names).toContain("tessera.testing.v1.EchoService");
      expect(names).toContain("grpc.health.v1.Health");
      expect(answers[1]?.fileDescriptorResponse?.fileDescriptorProto.length).toBeGreaterThan(0);
    });
  });

  describe("HTTP port", () => {
    const url = (path: string) => `http://${host.httpAddress}${path}`;

    it("serves Connect JSON to plain fetch", async () => {
      const response = await fetch(url("/tessera.testing.v1.EchoService/Echo"), {
        method: "POST",
        headers: { "content-type": "application/json", "x-echo": "web" },
        body: JSON.stringify({ text: "from curl" }),
      });
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({ text: "from curl", header: "web" });
    });

    it("serves Connect binary", async () => {
      const response = await fetch(url("/tessera.testing.v1.EchoService/Echo"), {
        method: "POST",
        headers: { "content-type": "application/proto" },
        body: toBinary(EchoRequestSchema, create(EchoRequestSchema, { text: "bin" })),
      });
      expect(response.status).toBe(200);
      expect(fromBinary(EchoResponseSchema, new Uint8Array(await response.arrayBuffer())).text).toBe("bin");
    });

    it("maps handler errors to Connect codes", async () => {
      const response = await fetch(url("/tessera.testing.v1.EchoService/Echo"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ failWithCode: Code.FailedPrecondition }),
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: "failed_precondition" });
    });

    it.each([
      ["not JSON", "{nope"],
      ["a wrong field type", JSON.stringify({ text: 42 })],
      ["an unknown field", JSON.stringify({ nosuch: 1 })],
    ])("answers invalid_argument for %s", async (_case, body) => {
      const response = await fetch(url("/tessera.testing.v1.EchoService/Echo"), {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
      });
      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({ code: "invalid_argument" });
    });

    it("answers /healthz, /readyz and /metrics", async () => {
      expect((await fetch(url("/healthz"))).status).toBe(200);
      host.setReady(false);
      expect((await fetch(url("/readyz"))).status).toBe(503);
      host.setReady(true);
      expect((await fetch(url("/readyz"))).status).toBe(200);
      const metrics = await (await fetch(url("/metrics"))).text();
      expect(metrics).toMatch(/tessera_echo_rpc_requests_total\{method="tessera.testing.v1.EchoService\/Echo",transport="http",code="OK"\} \d+/);
      expect(metrics).toMatch(/tessera_echo_rpc_requests_total\{method="tessera.testing.v1.EchoService\/Echo",transport="grpc",code="NotFound"\} \d+/);
    });
  });
});

describe("ServiceHost.shutdown()", () => {
  it("lets an in-flight call finish, then refuses new ones", async () => {
    const host = await startService({
      name: "echo",
      services: [serve(EchoService, echoServiceImpl)],
      grpcPort: 0,
      httpPort: 0,
      logger: silentLogger,
    });
    const mesh = createMeshClient(EchoService, { address: host.grpcAddress, defaultTimeoutMs: 3_000 });
    // Connected first, so the slow call is on the server before shutdown starts even on a busy machine.
    await mesh.client.echo({ text: "warm" });
    const inFlight = mesh.client.echo({ text: "slow", delayMs: 300 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stopping = host.shutdown();
    expect((await inFlight).text).toBe("slow");
    await stopping;
    const error = await mesh.client.echo({ text: "late" }).catch((e: unknown) => e);
    expect((error as ConnectError).code).toBe(Code.Unavailable);
    mesh.close();
  });

  it("aborts the signal of every call still running when the grace period ends", async () => {
    const reasons: unknown[] = [];
    let started = 0;
    const host = await startService({
      name: "echo",
      services: [
        serve(EchoService, {
          async echo(request, context) {
            // Waits for its signal only: the server's shutdown must be what ends it.
            started++;
            await new Promise((resolve) => context.signal.addEventListener("abort", resolve, { once: true }));
            reasons.push(context.signal.reason);
            return { text: request.text };
          },
        }),
      ],
      grpcPort: 0,
      httpPort: 0,
      logger: silentLogger,
      shutdownGraceMs: 200,
    });
    const mesh = createMeshClient(EchoService, { address: host.grpcAddress, defaultTimeoutMs: 30_000 });
    const calls = [mesh.client.echo({ text: "a" }).catch(() => {}), mesh.client.echo({ text: "b" }).catch(() => {})];
    await expect.poll(() => started, { timeout: 20_000 }).toBe(2);
    await host.shutdown();
    await expect.poll(() => reasons.length, { timeout: 20_000 }).toBe(2);
    expect(reasons.map((r) => String((r as Error).message))).toEqual(["server shutting down", "server shutting down"]);
    await Promise.all(calls);
    mesh.close();
  });
});
