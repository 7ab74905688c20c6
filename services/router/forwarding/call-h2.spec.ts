import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { silentLogger } from "../../../libs/log/index.js";
import { Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { callH2 } from "./call-h2.js";
import { H2Sessions } from "./h2-sessions.js";
import type { UpstreamError } from "./upstream-error.js";

// callH2 against a real grpc-js server on loopback: what grpc-js's own client would report.
const identity = (b: Buffer) => b;
const method = (path: string) => ({ path, requestStream: false, responseStream: false, requestSerialize: identity, requestDeserialize: identity, responseSerialize: identity, responseDeserialize: identity });

describe("callH2()", () => {
  const server = new Server();
  const sessions = new H2Sessions(silentLogger);
  let address = "";
  let cancelled = 0;

  beforeAll(async () => {
    server.addService(
      { Echo: method("/t.S/Echo"), Fail: method("/t.S/Fail"), Hang: method("/t.S/Hang") },
      {
        Echo: (call: ServerUnaryCall<Buffer, Buffer>, answer: sendUnaryData<Buffer>) => {
          const headers = new Metadata();
          headers.set("x-echo", String(call.metadata.get("x-in")[0]));
          call.sendMetadata(headers);
          const trailers = new Metadata();
          trailers.set("x-trailer-bin", Buffer.from([1, 2, 3]));
          answer(null, Buffer.concat([Buffer.from("echo:"), call.request]), trailers);
        },
        Fail: (_call: ServerUnaryCall<Buffer, Buffer>, answer: sendUnaryData<Buffer>) => {
          const metadata = new Metadata();
          metadata.set("grpc-status-details-bin", Buffer.from("details"));
          answer({ code: status.FAILED_PRECONDITION, details: "not ready: 100% sure", metadata });
        },
        Hang: (call: ServerUnaryCall<Buffer, Buffer>) => {
          call.on("cancelled", () => cancelled++);
        },
      },
    );
    const port = await new Promise<number>((resolve, reject) => server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
    address = `127.0.0.1:${port}`;
  });
  afterAll(() => {
    sessions.closeAll();
    server.forceShutdown();
  });

  const call = (path: string, options: { deadlineMs?: number; signal?: AbortSignal; metadata?: Metadata } = {}) =>
    sessions.call(address, 1, (session) => callH2(session, path, Buffer.from("hi"), options.metadata ?? new Metadata(), options.deadlineMs ?? Date.now() + 10_000, options.signal ?? new AbortController().signal, 1 << 20));

  it("sends the bytes and metadata, and returns the answer's bytes, headers and trailers", async () => {
    const metadata = new Metadata();
    metadata.set("x-in", "value");
    const response = await call("/t.S/Echo", { metadata });
    expect(response.body.toString()).toBe("echo:hi");
    expect(response.headers.get("x-echo")).toEqual(["value"]);
    expect(response.trailers.get("x-trailer-bin")).toEqual([Buffer.from([1, 2, 3])]);
  });

  it("returns the replica's code, details and trailing metadata", async () => {
    const error = (await call("/t.S/Fail").catch((e: unknown) => e)) as UpstreamError;
    expect(error.code).toBe(status.FAILED_PRECONDITION);
    expect(error.details).toBe("not ready: 100% sure");
    expect(error.metadata?.get("grpc-status-details-bin")).toEqual([Buffer.from("details")]);
  });

  it("answers UNIMPLEMENTED for a method the server does not have", async () => {
    expect(((await call("/t.S/Nope").catch((e: unknown) => e)) as UpstreamError).code).toBe(status.UNIMPLEMENTED);
  });

  it("ends a call at its deadline (DEADLINE_EXCEEDED), and cancels it upstream when asked (CANCELLED)", async () => {
    expect(((await call("/t.S/Hang", { deadlineMs: Date.now() + 200 }).catch((e: unknown) => e)) as UpstreamError).code).toBe(status.DEADLINE_EXCEEDED);
    const before = cancelled;
    const abort = new AbortController();
    const pending = call("/t.S/Hang", { signal: abort.signal }).catch((e: unknown) => e);
    setTimeout(() => abort.abort(), 100);
    expect(((await pending) as UpstreamError).code).toBe(status.CANCELLED);
    for (let i = 0; i < 200 && cancelled === before; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    expect(cancelled).toBeGreaterThan(before);
  });

  it("answers UNAVAILABLE, which the router retries, when the replica's connection drops mid-call", async () => {
    // A replica killed mid-call: its socket just goes.
    const doomed = http2.createServer();
    doomed.on("stream", (stream) => setTimeout(() => stream.session?.destroy(), 50));
    await new Promise<void>((resolve) => doomed.listen(0, "127.0.0.1", resolve));
    const own = new H2Sessions(silentLogger);
    try {
      const error = (await own.call(`127.0.0.1:${(doomed.address() as AddressInfo).port}`, 1, (session) => callH2(session, "/t.S/Hang", Buffer.alloc(0), new Metadata(), Date.now() + 10_000, new AbortController().signal, 1024)).catch(
        (e: unknown) => e,
      )) as UpstreamError;
      expect(error.code).toBe(status.UNAVAILABLE);
    } finally {
      own.closeAll();
      doomed.close();
    }
  });

  it("answers UNAVAILABLE when nothing listens", async () => {
    const refused = new H2Sessions(silentLogger);
    try {
      const error = (await refused.call("127.0.0.1:1", 1, (session) => callH2(session, "/t.S/Echo", Buffer.alloc(0), new Metadata(), Date.now() + 5_000, new AbortController().signal, 1024)).catch((e: unknown) => e)) as UpstreamError;
      expect(error.code).toBe(status.UNAVAILABLE);
    } finally {
      refused.closeAll();
    }
  });
});
