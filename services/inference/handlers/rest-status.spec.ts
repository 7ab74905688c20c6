import { describe, expect, it } from "vitest";
import { Code, ConnectError, resourceExhausted } from "../../../libs/errors/index.js";
import { withReason } from "../error-reason.js";
import { queueFullError } from "../batching/queue-full-error.js";
import { runError } from "../runtime/ort-executor.js";
import { restStatusFor } from "./rest-status.js";

const plain = (code: Code) => new ConnectError("x", code);

describe("restStatusFor()", () => {
  // 429 and 503 only where a retry can succeed.
  const table: { what: string; error: ConnectError; status: number; retry: boolean }[] = [
    { what: "a bad tensor", error: plain(Code.InvalidArgument), status: 400, retry: false },
    { what: "a value out of range", error: plain(Code.OutOfRange), status: 400, retry: false },
    { what: "a version that failed to load for good", error: plain(Code.FailedPrecondition), status: 400, retry: false },
    { what: "no credentials", error: plain(Code.Unauthenticated), status: 401, retry: false },
    { what: "not allowed", error: plain(Code.PermissionDenied), status: 403, retry: false },
    { what: "an unknown model", error: plain(Code.NotFound), status: 404, retry: false },
    { what: "already there", error: plain(Code.AlreadyExists), status: 409, retry: false },
    { what: "a conflict", error: plain(Code.Aborted), status: 409, retry: false },
    { what: "a full queue", error: queueFullError({ scope: "model", limit: 4 }, 1, 20), status: 429, retry: true },
    { what: "a rate limit", error: plain(Code.ResourceExhausted), status: 429, retry: true },
    { what: "a body over the limit", error: withReason(resourceExhausted("too large"), "payload-too-large"), status: 413, retry: false },
    { what: "a run out of memory", error: runError("m@1", new Error("Failed to allocate memory for requested buffer")), status: 500, retry: false },
    { what: "the client went away", error: plain(Code.Canceled), status: 499, retry: false },
    { what: "an unsupported call", error: plain(Code.Unimplemented), status: 501, retry: false },
    { what: "a version loading or a dead session", error: plain(Code.Unavailable), status: 503, retry: true },
    { what: "a dead session thread", error: runError("m@1", new ConnectError("the session thread exited", Code.Unavailable)), status: 503, retry: true },
    { what: "a passed deadline", error: plain(Code.DeadlineExceeded), status: 504, retry: false },
    { what: "a bug", error: plain(Code.Internal), status: 500, retry: false },
    { what: "damaged data", error: plain(Code.DataLoss), status: 500, retry: false },
    { what: "anything else", error: plain(Code.Unknown), status: 500, retry: false },
  ];

  it.each(table)("$what → $status", ({ error, status, retry }) => {
    expect(restStatusFor(error)).toBe(status);
    expect([429, 503].includes(restStatusFor(error))).toBe(retry);
  });

  it("answers a graph's rejection of the input 400, never a retry", () => {
    expect(restStatusFor(runError("m@1", new Error("indices element out of data bounds")))).toBe(400);
  });
});
