import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { Metadata } from "@grpc/grpc-js";
import { EchoService } from "../gen/tessera/testing/v1/echo_pb.js";
import { CallAbort } from "./call-abort.js";
import { callAbortOf, GrpcCallContext } from "./call-context.js";

const echo = EchoService.method.echo;
const grpcContext = (deadlineMs = Number.POSITIVE_INFINITY) => new GrpcCallContext(EchoService, echo, "/tessera.testing.v1.EchoService/Echo", new Metadata(), deadlineMs);
const codeOf = (reason: unknown) => ConnectError.from(reason).code;

describe("CallAbort", () => {
  it("calls each listener once, in order, with the first reason kept", () => {
    const abort = new CallAbort();
    const calls: string[] = [];
    abort.addEventListener("abort", () => calls.push(`a:${String(abort.reason)}`));
    abort.addEventListener("abort", () => calls.push("b"));
    expect(abort.aborted).toBe(false);
    abort.abort("first");
    abort.abort("second");
    expect(calls).toEqual(["a:first", "b"]);
    expect(abort.reason).toBe("first");
    expect(abort.aborted).toBe(true);
  });

  it("never calls a listener removed before, or added after, the abort (as an AbortSignal)", () => {
    const abort = new CallAbort();
    const signal = new AbortController();
    const calls: string[] = [];
    const removed = () => calls.push("removed");
    for (const target of [abort, signal.signal]) {
      target.addEventListener("abort", removed);
      target.removeEventListener("abort", removed);
    }
    abort.abort(1);
    signal.abort(1);
    abort.addEventListener("abort", () => calls.push("late"));
    signal.signal.addEventListener("abort", () => calls.push("late"));
    expect(calls).toEqual([]);
  });

  it("calls the other listeners when one throws, and reports its error as uncaught", async () => {
    const abort = new CallAbort();
    const calls: string[] = [];
    const uncaught = new Promise<unknown>((resolve) => process.once("uncaughtException", resolve));
    abort.addEventListener("abort", () => {
      throw new Error("listener failed");
    });
    abort.addEventListener("abort", () => calls.push("after"));
    abort.abort("x");
    expect(calls).toEqual(["after"]);
    expect(((await uncaught) as Error).message).toBe("listener failed");
  });
});

describe("GrpcCallContext.callAbort", () => {
  it("ends with the same reason as the signal, whichever was read first", () => {
    const readFirst = grpcContext();
    const abort = readFirst.callAbort;
    readFirst.cancelled();
    expect(abort.aborted).toBe(true);
    expect(codeOf(abort.reason)).toBe(Code.Canceled);
    expect(readFirst.signal.reason).toBe(abort.reason);

    const readAfter = grpcContext();
    readAfter.end();
    expect(readAfter.callAbort.aborted).toBe(true);
    expect(readAfter.callAbort.reason).toBe(readAfter.signal.reason);
  });

  it("is aborted with DEADLINE_EXCEEDED when the call's deadline passes, and stays the one object", async () => {
    const context = grpcContext(Date.now() + 20);
    const abort = context.callAbort;
    const fired = new Promise<void>((resolve) => abort.addEventListener("abort", resolve));
    await fired;
    expect(codeOf(abort.reason)).toBe(Code.DeadlineExceeded);
    expect(context.callAbort).toBe(abort);
    context.end();
    expect(codeOf(abort.reason)).toBe(Code.DeadlineExceeded);
  });

  it("is what callAbortOf hands out for a gRPC call; any other context gives its signal", () => {
    const context = grpcContext();
    expect(callAbortOf(context)).toBe(context.callAbort);
    const signal = new AbortController().signal;
    expect(callAbortOf({ signal } as never)).toBe(signal);
    context.end();
  });
});
