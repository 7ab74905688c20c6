import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type ServiceImpl } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { status } from "@grpc/grpc-js";
import { context, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace";
import { createMemoryEventBus, openNatsEventBus, type EventBus } from "../events/index.js";
import { AliasMovedSchema } from "../gen/tessera/events/v1/registry_events_pb.js";
import { EchoService } from "../gen/tessera/testing/v1/echo_pb.js";
import { createMeshClient, serve, startService, type ServiceHost } from "../host/index.js";
import { createLogger } from "../log/index.js";
import { connectNats, type NatsConnection } from "../nats/index.js";
import { testNatsUrl, uniqueName } from "../testing/index.js";
import { startTelemetry, traceHttpRequest, type Telemetry } from "./index.js";

// One tracer provider for the file (OpenTelemetry's globals are set once
// per process), exporting into memory: the span tree is what is asserted.
const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
const logLines: Record<string, unknown>[] = [];
const logger = createLogger("traced", { write: (line) => logLines.push(JSON.parse(line) as Record<string, unknown>) });

const impl: Partial<ServiceImpl<typeof EchoService>> = {
  async echo(request) {
    logger.info("echo handled", { text: request.text });
    if (request.failWithCode !== 0) throw new ConnectError("failing as asked", request.failWithCode as Code);
    return { text: request.text };
  },
  async *echoStream(request) {
    for (let i = 0; i < request.count; i++) yield { text: `${i}` };
  },
};

const spans = () => exporter.getFinishedSpans();
const named = (name: string, kind: SpanKind) => spans().filter((s) => s.name === name && s.kind === kind);
const parentOf = (span: ReadableSpan) => span.parentSpanContext?.spanId;
// A server span ends just after its answer is sent, so it may land after the
// client has its response: wait for it, by trace, never by time.
const awaitSpan = async (name: string, kind: SpanKind, traceId?: string) => {
  const find = () => named(name, kind).find((s) => traceId === undefined || s.spanContext().traceId === traceId);
  await expect.poll(find).toBeTruthy();
  return find()!;
};
/** Runs `fn` inside a fresh root span; returns the root. */
const underRoot = async (fn: () => Promise<unknown>) => {
  const root = trace.getTracer("test").startSpan("root");
  await context.with(trace.setSpan(context.active(), root), fn).catch(() => {});
  root.end();
  return root;
};

describe("tracing across libs/host and libs/events", () => {
  let host: ServiceHost;
  let mesh: ReturnType<typeof createMeshClient<typeof EchoService>>;

  beforeAll(async () => {
    telemetry = await startTelemetry({ serviceName: "traced", spanProcessors: [new SimpleSpanProcessor({ exporter })], env: {} });
    host = await startService({ name: "traced", services: [serve(EchoService, impl)], grpcPort: 0, httpPort: 0, logger: createLogger("traced", { write: () => {} }) });
    mesh = createMeshClient(EchoService, { address: host.grpcAddress });
  });

  afterAll(async () => {
    mesh.close();
    await host.shutdown();
    await telemetry.shutdown();
  });

  beforeEach(() => {
    exporter.reset();
    logLines.length = 0;
  });

  it("is on when given span processors", () => {
    expect(telemetry.enabled).toBe(true);
  });

  it("makes a client span under the caller's span and a server span under the client span, one trace", async () => {
    const root = await underRoot(() => mesh.client.echo({ text: "hi" }));
    const traceId = root.spanContext().traceId;
    const client = await awaitSpan("tessera.testing.v1.EchoService/Echo", SpanKind.CLIENT, traceId);
    const server = await awaitSpan("tessera.testing.v1.EchoService/Echo", SpanKind.SERVER, traceId);
    expect(parentOf(client)).toBe(root.spanContext().spanId);
    expect(parentOf(server)).toBe(client.spanContext().spanId);
    expect(new Set([root.spanContext().traceId, client.spanContext().traceId, server.spanContext().traceId]).size).toBe(1);
    for (const span of [client, server]) {
      expect(span.attributes).toMatchObject({
        "rpc.system": "grpc",
        "rpc.service": "tessera.testing.v1.EchoService",
        "rpc.method": "Echo",
        "rpc.grpc.status_code": 0,
      });
    }
    expect(client.attributes["server.address"]).toBe("127.0.0.1");
    expect(client.attributes["server.port"]).toBe(Number(host.grpcAddress.split(":")[1]));
  });

  it("puts the server span's trace and span id in the handler's log lines", async () => {
    const root = await underRoot(() => mesh.client.echo({ text: "logged" }));
    const server = await awaitSpan("tessera.testing.v1.EchoService/Echo", SpanKind.SERVER, root.spanContext().traceId);
    const line = logLines.find((l) => l.msg === "echo handled");
    expect(line).toMatchObject({ trace_id: server.spanContext().traceId, span_id: server.spanContext().spanId, trace_flags: "01" });
  });

  it("leaves trace fields out of log lines outside any span", () => {
    logger.info("no span");
    expect(logLines[0]).not.toHaveProperty("trace_id");
  });

  it("records the status code: an error on the client span, not on the server span for a caller's error", async () => {
    const notFound = (await underRoot(() => mesh.client.echo({ failWithCode: Code.NotFound }))).spanContext().traceId;
    const client = await awaitSpan("tessera.testing.v1.EchoService/Echo", SpanKind.CLIENT, notFound);
    const server = await awaitSpan("tessera.testing.v1.EchoService/Echo", SpanKind.SERVER, notFound);
    expect(client.attributes["rpc.grpc.status_code"]).toBe(Code.NotFound);
    expect(server.attributes["rpc.grpc.status_code"]).toBe(Code.NotFound);
    expect(client.status.code).toBe(SpanStatusCode.ERROR);
    expect(server.status.code).toBe(SpanStatusCode.UNSET);

    const internal = (await underRoot(() => mesh.client.echo({ failWithCode: Code.Internal }))).spanContext().traceId;
    expect((await awaitSpan("tessera.testing.v1.EchoService/Echo", SpanKind.SERVER, internal)).status.code).toBe(SpanStatusCode.ERROR);
  });

  it("ends a server-streaming call's spans with the stream", async () => {
    const root = await underRoot(async () => {
      for await (const _ of mesh.client.echoStream({ count: 3 }));
    });
    const client = await awaitSpan("tessera.testing.v1.EchoService/EchoStream", SpanKind.CLIENT, root.spanContext().traceId);
    const server = await awaitSpan("tessera.testing.v1.EchoService/EchoStream", SpanKind.SERVER, root.spanContext().traceId);
    expect(parentOf(server)).toBe(client.spanContext().spanId);
    expect(server.attributes["rpc.grpc.status_code"]).toBe(0);
  });

  it("continues a trace a Connect caller sent in traceparent, on the HTTP port", async () => {
    const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
    const parentId = "00f067aa0ba902b7";
    const response = await fetch(`http://${host.httpAddress}/tessera.testing.v1.EchoService/Echo`, {
      method: "POST",
      headers: { "content-type": "application/json", traceparent: `00-${traceId}-${parentId}-01` },
      body: JSON.stringify({ text: "web" }),
    });
    expect(response.status).toBe(200);
    const server = await awaitSpan("tessera.testing.v1.EchoService/Echo", SpanKind.SERVER, traceId);
    expect(server.spanContext().traceId).toBe(traceId);
    expect(parentOf(server)).toBe(parentId);
    expect(server.attributes).toMatchObject({ "rpc.system": "connect_rpc", "rpc.service": "tessera.testing.v1.EchoService", "rpc.method": "Echo", "rpc.grpc.status_code": 0 });
  });

  it("marks a Connect error with its code on the HTTP port", async () => {
    const web = createClient(EchoService, createConnectTransport({ baseUrl: `http://${host.httpAddress}`, httpVersion: "1.1" }));
    // connect-node's own client is not instrumented: the caller names its trace.
    const traceId = "5bf92f3577b34da6a3ce929d0e0e4737";
    await web.echo({ failWithCode: Code.FailedPrecondition }, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } }).catch(() => {});
    const server = await awaitSpan("tessera.testing.v1.EchoService/Echo", SpanKind.SERVER, traceId);
    expect(server.attributes).toMatchObject({ "rpc.grpc.status_code": Code.FailedPrecondition, "rpc.connect_rpc.error_code": "failed_precondition" });
  });

  describe.each([
    ["NATS", true],
    ["the embedded bus", false],
  ] as const)("events on %s", (_name, onNats) => {
    let publisherConn: NatsConnection | undefined;
    let subscriberConn: NatsConnection | undefined;
    let publisher: EventBus;
    let subscriber: EventBus;

    beforeAll(async () => {
      if (onNats) {
        publisherConn = await connectNats({ servers: testNatsUrl(), name: "tracing-publisher" });
        subscriberConn = await connectNats({ servers: testNatsUrl(), name: "tracing-subscriber" });
        publisher = await openNatsEventBus(publisherConn, { durable: false });
        subscriber = await openNatsEventBus(subscriberConn, { durable: false });
      } else {
        publisher = subscriber = createMemoryEventBus();
      }
    });

    afterAll(async () => {
      await publisher.close();
      await subscriber.close();
      await publisherConn?.close();
      await subscriberConn?.close();
    });

    it("keeps one trace from the publisher's span through a consumer span around the handler", async () => {
      const subject = `tracing.${uniqueName("ev")}`;
      let handlerSpan: string | undefined;
      let handled!: () => void;
      const done = new Promise<void>((resolve) => (handled = resolve));
      const stop = await subscriber.subscribe(subject, AliasMovedSchema, () => {
        handlerSpan = trace.getActiveSpan()?.spanContext().spanId;
        logger.info("event handled");
        handled();
      });
      const root = trace.getTracer("test").startSpan("root");
      await context.with(trace.setSpan(context.active(), root), () =>
        publisher.publish(subject, AliasMovedSchema, create(AliasMovedSchema, { model: "m", alias: "production", version: 2 }), { source: "tessera/test" }),
      );
      root.end();
      await done;
      await stop();

      const producer = await awaitSpan(`publish ${subject}`, SpanKind.PRODUCER);
      const consumer = await awaitSpan(`process ${subject}`, SpanKind.CONSUMER);
      expect(parentOf(producer)).toBe(root.spanContext().spanId);
      expect(parentOf(consumer)).toBe(producer.spanContext().spanId);
      expect(consumer.spanContext().traceId).toBe(root.spanContext().traceId);
      expect(handlerSpan).toBe(consumer.spanContext().spanId);
      expect(consumer.attributes).toMatchObject({ "messaging.system": "nats", "messaging.destination.name": subject, "cloudevents.event_type": "tessera.events.v1.AliasMoved" });
      expect(logLines.find((l) => l.msg === "event handled")).toMatchObject({ trace_id: root.spanContext().traceId });
    });
  });

  describe("raw gRPC methods and plain HTTP routes", () => {
    let raw: ServiceHost;
    let rawMesh: ReturnType<typeof createMeshClient<typeof EchoService>>;
    beforeAll(async () => {
      raw = await startService({
        name: "traced_raw",
        services: [
          serve(EchoService, impl, {
            rawGrpc: {
              // The bytes back as they came, or NOT_FOUND for an empty request: a proxy's shape.
              Echo: (call, callback) => {
                logger.info("raw handled");
                if (call.request.length === 0) callback({ code: status.NOT_FOUND, details: "nothing to echo" });
                else callback(null, call.request);
              },
            },
          }),
        ],
        routes: [
          (request, response) => {
            if (!request.url?.startsWith("/v2/")) return false;
            return traceHttpRequest(request, response, "/v2/models/{name}/infer", async () => {
              logger.info("rest handled");
              response.writeHead(request.url === "/v2/fail" ? 503 : 200).end("{}");
              return true;
            });
          },
        ],
        grpcPort: 0,
        httpPort: 0,
        logger: createLogger("traced-raw", { write: () => {} }),
      });
      rawMesh = createMeshClient(EchoService, { address: raw.grpcAddress });
    });
    afterAll(async () => {
      rawMesh?.close();
      await raw?.shutdown();
    });

    it("gives a raw-bytes method a server span under the caller's client span, with its status code", async () => {
      const root = await underRoot(() => rawMesh.client.echo({ text: "raw" }));
      const client = await awaitSpan("tessera.testing.v1.EchoService/Echo", SpanKind.CLIENT, root.spanContext().traceId);
      const server = await awaitSpan("tessera.testing.v1.EchoService/Echo", SpanKind.SERVER, root.spanContext().traceId);
      expect(parentOf(server)).toBe(client.spanContext().spanId);
      expect(server.attributes).toMatchObject({ "rpc.system": "grpc", "rpc.service": "tessera.testing.v1.EchoService", "rpc.method": "Echo", "rpc.grpc.status_code": 0 });
      expect(logLines.find((l) => l.msg === "raw handled")).toMatchObject({ trace_id: root.spanContext().traceId, span_id: server.spanContext().spanId });

      const failed = await underRoot(() => rawMesh.client.echo({}));
      expect((await awaitSpan("tessera.testing.v1.EchoService/Echo", SpanKind.SERVER, failed.spanContext().traceId)).attributes["rpc.grpc.status_code"]).toBe(Code.NotFound);
    });

    it("gives a plain HTTP route a server span under the caller's traceparent, ended with the response status", async () => {
      const traceId = "6bf92f3577b34da6a3ce929d0e0e4738";
      const parentId = "00f067aa0ba902b7";
      for (const path of ["/v2/models/m/infer", "/v2/fail"]) {
        const response = await fetch(`http://${raw.httpAddress}${path}`, { method: "POST", headers: { traceparent: `00-${traceId}-${parentId}-01` }, body: "{}" });
        await response.arrayBuffer();
      }
      await expect.poll(() => named("POST /v2/models/{name}/infer", SpanKind.SERVER).length).toBe(2);
      const [ok, failed] = named("POST /v2/models/{name}/infer", SpanKind.SERVER).sort((a, b) => Number(a.attributes["http.response.status_code"]) - Number(b.attributes["http.response.status_code"]));
      expect(ok!.spanContext().traceId).toBe(traceId);
      expect(parentOf(ok!)).toBe(parentId);
      expect(ok!.attributes).toMatchObject({ "http.request.method": "POST", "http.route": "/v2/models/{name}/infer", "url.path": "/v2/models/m/infer", "http.response.status_code": 200 });
      expect(ok!.status.code).toBe(SpanStatusCode.UNSET);
      expect(failed!.attributes["http.response.status_code"]).toBe(503);
      expect(failed!.status.code).toBe(SpanStatusCode.ERROR);
      expect(logLines.find((l) => l.msg === "rest handled")).toMatchObject({ trace_id: traceId });
    });
  });
});
