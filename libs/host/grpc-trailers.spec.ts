import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { EchoResponseSchema } from "../gen/tessera/testing/v1/echo_pb.js";
import { errorFromTrailers, setErrorTrailers } from "./grpc-trailers.js";
import { decodeRpcStatus, encodeRpcStatus } from "./rpc-status.js";

describe("setErrorTrailers()", () => {
  it("writes grpc-status, a percent-encoded grpc-message and the error's metadata, and no details header without details", () => {
    const error = new ConnectError("no model «m»: 100%", Code.NotFound, { "x-error-meta": "e", "content-type": "text/plain", "grpc-status": "2" });
    const trailers = setErrorTrailers(new Headers({ "x-handler-trailer": "t" }), error);
    expect([...trailers]).toEqual([
      ["grpc-message", "no model %C2%ABm%C2%BB: 100%25"],
      ["grpc-status", "5"],
      ["x-error-meta", "e"],
      ["x-handler-trailer", "t"],
    ]);
  });

  it("writes the details as grpc-status-details-bin, a base64 google.rpc.Status with code, message and Any details", () => {
    const error = new ConnectError("bad input", Code.InvalidArgument, undefined, [{ desc: EchoResponseSchema, value: { text: "the detail" } }]);
    // A detail relayed as it came off the wire: its type name and bytes.
    error.details.push({ type: "example.v1.Raw", value: new Uint8Array([7]) });
    const bin = setErrorTrailers(new Headers(), error).get("grpc-status-details-bin");
    const status = decodeRpcStatus(Buffer.from(bin!, "base64"));
    expect(status.code).toBe(Code.InvalidArgument);
    expect(status.message).toBe("bad input");
    expect(status.details.map((d) => d.typeUrl)).toEqual(["type.googleapis.com/tessera.testing.v1.EchoResponse", "type.googleapis.com/example.v1.Raw"]);
    expect(Buffer.from(status.details[0]!.value)).toEqual(Buffer.from([0x0a, 10, ...Buffer.from("the detail")]));
  });
});

describe("errorFromTrailers()", () => {
  it("reads code, message and details back from grpc-status-details-bin", () => {
    const error = new ConnectError("bad input", Code.InvalidArgument, undefined, [{ desc: EchoResponseSchema, value: { text: "the detail" } }]);
    const read = errorFromTrailers(setErrorTrailers(new Headers(), error))!;
    expect(read.code).toBe(Code.InvalidArgument);
    expect(read.rawMessage).toBe("bad input");
    expect(read.findDetails(EchoResponseSchema).map((d) => d.text)).toEqual(["the detail"]);
  });

  it.each([
    ["grpc-status and a percent-encoded grpc-message", { "grpc-status": "14", "grpc-message": "no replica %E2%80%94 try later" }, Code.Unavailable, "no replica — try later"],
    ["grpc-status without grpc-message", { "grpc-status": "4" }, Code.DeadlineExceeded, ""],
    ["an unknown grpc-status", { "grpc-status": "99", "grpc-message": "x" }, Code.Internal, "invalid grpc-status: 99"],
    ["a grpc-status that is not a number", { "grpc-status": "NOT_FOUND" }, Code.Internal, "invalid grpc-status: NOT_FOUND"],
    ["details that are not a google.rpc.Status: falls back to grpc-status", { "grpc-status": "5", "grpc-message": "gone", "grpc-status-details-bin": Buffer.from([0x12, 40]).toString("base64") }, Code.NotFound, "gone"],
  ])("reads %s", (_name, headers, code, message) => {
    const error = errorFromTrailers(new Headers(headers))!;
    expect(error.code).toBe(code);
    expect(error.rawMessage).toBe(message);
  });

  it.each([
    ["grpc-status 0", { "grpc-status": "0" }],
    ["no status at all", { "x-other": "1" }],
    ["a google.rpc.Status with code 0", { "grpc-status-details-bin": Buffer.from(encodeRpcStatus({ code: 0, message: "", details: [] })).toString("base64"), "grpc-status": "0" }],
  ])("answers undefined for %s", (_name, headers) => {
    expect(errorFromTrailers(new Headers(headers))).toBeUndefined();
  });

  it("keeps the headers as the error's metadata", () => {
    expect(errorFromTrailers(new Headers({ "grpc-status": "7", "x-why": "policy" }))!.metadata.get("x-why")).toBe("policy");
  });
});

describe("libs/host", () => {
  it("imports nothing from Connect's protocol subpaths, whose helpers are private and unversioned", async () => {
    const { readdir, readFile } = await import("node:fs/promises");
    const dir = new URL(".", import.meta.url);
    const offenders: string[] = [];
    for (const file of await readdir(dir)) {
      if (!file.endsWith(".ts") || file.endsWith(".spec.ts")) continue;
      if (/from "@connectrpc\/connect\/protocol/.test(await readFile(new URL(file, dir), "utf8"))) offenders.push(file);
    }
    expect(offenders).toEqual([]);
  });
});
