import { JetStreamApiError } from "@nats-io/jetstream";
import {
  ClosedConnectionError,
  ConnectionError,
  InvalidArgumentError,
  NoRespondersError,
  PermissionViolationError,
  TimeoutError,
} from "@nats-io/transport-node";
import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../errors/index.js";
import { translateNatsError } from "./translate-nats-error.js";

const jsError = (code: number, err_code: number, description: string) =>
  new JetStreamApiError({ code, err_code, description });

describe("translateNatsError()", () => {
  const table: [what: string, err: unknown, code: Code, message: RegExp][] = [
    ["a timeout", new TimeoutError(), Code.Unavailable, /did not answer in time/],
    ["no responders", new NoRespondersError("$JS.API.INFO"), Code.Unavailable, /nats-server -js/],
    ["a closed connection", new ClosedConnectionError(), Code.Unavailable, /closed/],
    ["a lost connection", new ConnectionError("connection refused"), Code.Unavailable, /lost the connection/],
    ["a wrong last sequence", jsError(400, 10071, "wrong last sequence: 5"), Code.Aborted, /changed concurrently, retry/],
    ["a missing stream", jsError(404, 10059, "stream not found"), Code.FailedPrecondition, /stream not found/],
    ["JetStream off", jsError(503, 10076, "JetStream not enabled"), Code.FailedPrecondition, /nats-server -js/],
    ["a full store", jsError(500, 10047, "insufficient storage resources"), Code.ResourceExhausted, /free disk/],
    ["a message over the stream's limit", jsError(400, 10054, "message size exceeds maximum allowed"), Code.InvalidArgument, /too large/],
    ["an unknown 503", jsError(503, 99999, "busy"), Code.Unavailable, /retry/],
    ["an unknown 400", jsError(400, 99998, "bad request"), Code.Internal, /refused the request/],
    ["a payload over max_payload", new InvalidArgumentError("'payload' max_payload size exceeded"), Code.InvalidArgument, /object store/],
    ["a permission violation", new PermissionViolationError("no", "publish", "x"), Code.PermissionDenied, /permissions/],
    ["anything else", new Error("boom"), Code.Internal, /boom/],
  ];

  it.each(table)("maps %s to the right code with a message that says what to do", (_what, err, code, message) => {
    const translated = translateNatsError(err, "reading key \"a\"");
    expect(Code[translated.code]).toBe(Code[code]);
    expect(translated.message).toMatch(/reading key "a"/);
    expect(translated.message).toMatch(message);
    expect(translated.cause).toBe(err);
  });

  it("passes a ConnectError through unchanged", () => {
    const err = new ConnectError("already translated", Code.NotFound);
    expect(translateNatsError(err, "x")).toBe(err);
  });
});
