import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient, type ServiceImpl } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import { EchoResponseSchema, EchoService } from "../gen/tessera/testing/v1/echo_pb.js";
import { createLogger } from "../log/index.js";
import { createMeshClient, DEFAULT_MAX_MESSAGE_BYTES, requestHeaderReader, serve, startService, type ServiceHost } from "./index.js";

// EchoService handlers that misbehave in the ways a real handler can: set
// headers and trailers, fail with details, set metadata gRPC cannot carry,
// answer a stream without reading it.
const readStarted = { first: 0 };
const edgeImpl: ServiceImpl<typeof EchoService> = {
  async echo(request, context) {
    context.responseHeader.set("x-handler-header", "h");
    context.responseTrailer.set("x-handler-trailer", "t");
    switch (request.text) {
      case "fail with details":
        throw new ConnectError("no such model: m", Code.NotFound, { "x-error-meta": "e" }, [
          { desc: EchoResponseSchema, value: { text: "the detail" } },
        ]);
      case "non-ascii trailer":
        context.responseTrailer.set("x-bad", "café");
        return { text: "ok" };
      case "non-ascii error metadata":
        throw new ConnectError("failing", Code.NotFound, { "x-bad": "café" });
      case "read headers": {
        // What requestHeaderReader gives, beside what requestHeader.get gives, for the same names.
        const header = requestHeaderReader(context);
        const names = ["x-one", "X-Multi", "x-absent", "x-data-bin"];
        return { text: JSON.stringify([names.map((n) => header(n) ?? null), names.map((n) => context.requestHeader.get(n))]) };
      }
      case "non-ascii header":
        context.responseHeader.set("x-bad", "café");
        return { text: "ok" };
      default:
        return { text: request.text, payload: request.payload };
    }
  },
  async *echoStream(request, context) {
    context.responseHeader.set("x-stream-header", "sh");
    if (request.text === "non-ascii trailer") context.responseTrailer.set("x-bad", "café");
    for (let i = 0; i < request.count; i++) yield { text: `${request.text} ${i}` };
  },
  async collect(requests, context) {
    if (context.requestHeader.get("x-mode") === "answer-without-reading") return { text: "early", count: 0 };
    return { text: "", count: await readAll(requests) };
  },
  async *chat(requests) {
    await readAll(requests);
    yield { text: "done" };
  },
};

// Counts what it reads: a handler waiting for the next message when the cancel arrives.
async function readAll(requests: AsyncIterable<unknown>): Promise<number> {
  let count = 0;
  for await (const _ of requests) if (count++ === 0) readStarted.first++;
  return count;
}

describe("libs/host edge paths", () => {
  let host: ServiceHost;
  let mesh: ReturnType<typeof createMeshClient<typeof EchoService>>;
  const logLines: string[] = [];
  const metricsText = async () => (await fetch(`http://${host.httpAddress}/metrics`)).text();

  beforeAll(async () => {
    host = await startService({
      name: "edge",
      services: [serve(EchoService, edgeImpl)],
      grpcPort: 0,
      httpPort: 0,
      logger: createLogger("edge", { write: (line) => logLines.push(line) }),
      shutdownGraceMs: 2_000,
    });
    mesh = createMeshClient(EchoService, { address: host.grpcAddress, defaultTimeoutMs: 5_000 });
  });

  afterAll(async () => {
    mesh.close();
    await host.shutdown();
  });

  it("hands a server-streaming call's response headers to the caller", async () => {
    let header: Headers | undefined;
    const texts: string[] = [];
    for await (const m of mesh.client.echoStream({ text: "s", count: 2 }, { onHeader: (h) => (header = h) })) texts.push(m.text);
    expect(texts).toEqual(["s 0", "s 1"]);
    expect(header?.get("x-stream-header")).toBe("sh");
  });

  it.each(["client_streaming", "bidi_streaming"] as const)(
    "answers CANCELLED, not UNKNOWN, when the client cancels a %s call, and does not log it as a server error",
    async (kind) => {
      const abort = new AbortController();
      const before = readStarted.first;
      async function* input() {
        yield { text: "one" };
        // Cancel once the server has read the first message, then keep the stream open.
        await expect.poll(() => readStarted.first, { timeout: 10_000 }).toBeGreaterThan(before);
        abort.abort();
        await sleep(60_000, undefined, { signal: AbortSignal.timeout(10_000) }).catch(() => {});
      }
      const call =
        kind === "client_streaming"
          ? mesh.client.collect(input(), { signal: abort.signal })
          : (async () => {
              for await (const _ of mesh.client.chat(input(), { signal: abort.signal }));
            })();
      const error = await call.catch((e: unknown) => e);
      expect(ConnectError.from(error).code).toBe(Code.Canceled);
      const method = kind === "client_streaming" ? "Collect" : "Chat";
      const answered = new RegExp(`tessera_edge_rpc_requests_total\\{method="tessera.testing.v1.EchoService/${method}",transport="grpc",code="(\\w+)"\\}`, "g");
      const codes = async () => [...(await metricsText()).matchAll(answered)].map((m) => m[1]);
      await expect.poll(codes, { timeout: 10_000 }).toEqual(["Canceled"]);
      expect(logLines.filter((l) => l.includes("rpc failed") && l.includes(method))).toEqual([]);
    },
  );

  it.each(["grpc", "connect"] as const)("reads single request headers as requestHeader.get does (%s), from the metadata on the gRPC port", async (port) => {
    const client =
      port === "grpc"
        ? createClient(EchoService, createGrpcTransport({ baseUrl: `http://${host.grpcAddress}` }))
        : createClient(EchoService, createConnectTransport({ baseUrl: `http://${host.httpAddress}`, httpVersion: "1.1" }));
    const headers = new Headers([["x-one", "1"], ["x-multi", "a"], ["x-multi", "b"], ["x-data-bin", Buffer.from([0, 1, 2, 250]).toString("base64")]]);
    const answer = await client.echo({ text: "read headers" }, { headers });
    const [read, got] = JSON.parse(answer.text) as [(string | null)[], (string | null)[]];
    expect(read).toEqual(got);
    expect(read).toEqual(["1", "a, b", null, "AAEC+g=="]);
  });

  describe("the same error, answered the same way on both ports", () => {
    const clients = () => ({
      "gRPC port, our grpc-js mesh client": mesh.client,
      "gRPC port, connect-node's gRPC client": createClient(EchoService, createGrpcTransport({ baseUrl: `http://${host.grpcAddress}` })),
      "HTTP port, Connect protocol": createClient(EchoService, createConnectTransport({ baseUrl: `http://${host.httpAddress}`, httpVersion: "1.1" })),
    });

    it.each(["gRPC port, our grpc-js mesh client", "gRPC port, connect-node's gRPC client", "HTTP port, Connect protocol"] as const)(
      "keeps code, message, details, headers and trailers through %s",
      async (name) => {
        const error = ConnectError.from(await clients()[name].echo({ text: "fail with details" }).catch((e: unknown) => e));
        expect(error.code).toBe(Code.NotFound);
        expect(error.rawMessage).toBe("no such model: m");
        expect(error.findDetails(EchoResponseSchema).map((d) => d.text)).toEqual(["the detail"]);
        expect(error.metadata.get("x-handler-header")).toBe("h");
        expect(error.metadata.get("x-handler-trailer")).toBe("t");
        expect(error.metadata.get("x-error-meta")).toBe("e");
      },
    );

    it("sends the details to a foreign gRPC client as grpc-status-details-bin", async () => {
      const client = new grpc.Client(host.grpcAddress, grpc.credentials.createInsecure());
      const status = await new Promise<grpc.ServiceError>((resolve) =>
        client.makeUnaryRequest(
          "/tessera.testing.v1.EchoService/Echo",
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from([0x0a, 17, ...Buffer.from("fail with details")]),
          (error) => resolve(error as grpc.ServiceError),
        ),
      );
      client.close();
      expect(status.code).toBe(grpc.status.NOT_FOUND);
      const [bin] = status.metadata.get("grpc-status-details-bin");
      // google.rpc.Status: field 1 code, field 2 message, field 3 Any details.
      expect(Buffer.isBuffer(bin) && bin.includes(Buffer.from("type.googleapis.com/tessera.testing.v1.EchoResponse"))).toBe(true);
    });
  });

  describe("every call is answered exactly once, whatever throws", () => {
    it.each(["non-ascii trailer", "non-ascii error metadata", "non-ascii header"])("answers INTERNAL for a %s gRPC cannot carry", async (text) => {
      const error = ConnectError.from(await mesh.client.echo({ text }).catch((e: unknown) => e));
      expect(error.code).toBe(Code.Internal);
      expect(error.rawMessage).toMatch(/metadata/);
    });

    it("answers INTERNAL for a streaming call whose trailer gRPC cannot carry", async () => {
      const texts: string[] = [];
      const error = await (async () => {
        for await (const m of mesh.client.echoStream({ text: "non-ascii trailer", count: 1 })) texts.push(m.text);
      })().catch((e: unknown) => e);
      expect(ConnectError.from(error).code).toBe(Code.Internal);
    });

    it("still serves after all that", async () => {
      expect((await mesh.client.echo({ text: "fine" })).text).toBe("fine");
    });
  });

  it("accepts a 17 MiB request on both ports, under the 64 MiB default for every inference path", async () => {
    const payload = new Uint8Array(17 * 1024 * 1024).fill(7);
    expect((await mesh.client.echo({ text: "big", payload }, { timeoutMs: 30_000 })).payload.byteLength).toBe(payload.byteLength);
    const web = createClient(EchoService, createConnectTransport({ baseUrl: `http://${host.httpAddress}`, httpVersion: "1.1", useBinaryFormat: true }));
    expect((await web.echo({ text: "big", payload }, { timeoutMs: 30_000 })).payload.byteLength).toBe(payload.byteLength);
    expect(DEFAULT_MAX_MESSAGE_BYTES).toBe(64 * 1024 * 1024);
  });

  it("closes the caller's input stream when the call ends while the send buffer is full", async () => {
    let closed = false;
    async function* flood() {
      try {
        for (;;) yield { text: "x".repeat(256 * 1024) };
      } finally {
        closed = true;
      }
    }
    const response = await mesh.client.collect(flood(), { headers: { "x-mode": "answer-without-reading" } });
    expect(response.text).toBe("early");
    await expect.poll(() => closed).toBe(true);
  });
});
