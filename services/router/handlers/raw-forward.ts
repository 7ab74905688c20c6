import { Metadata, status, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import type { RawUnaryHandler } from "../../../libs/host/index.js";
import type { Forwarder } from "../forwarding/forward-unary.js";
import type { ForwardedMethod } from "../forwarding/method-specs.js";
import { UpstreamError } from "../forwarding/upstream-error.js";

/**
 * The gRPC path: the caller's request bytes go to the replica untouched
 * (a version redirect is a few appended bytes); the replica's answer comes
 * back as it was sent. The caller's deadline bounds every hop, and a
 * cancelled call cancels the upstream one.
 */
export function rawForward(forwarder: Forwarder, method: ForwardedMethod): RawUnaryHandler {
  return (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
    const abort = new AbortController();
    call.on("cancelled", () => abort.abort());
    const deadline = call.getDeadline();
    const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? deadline : undefined;
    void (async () => {
      try {
        const response = await forwarder.forward(method, { body: call.request, metadata: call.metadata, deadlineMs, signal: abort.signal });
        call.sendMetadata(response.headers);
        callback(null, response.body, response.trailers);
      } catch (error) {
        const e = error instanceof UpstreamError ? error : new UpstreamError(status.INTERNAL, String((error as Error)?.message ?? error));
        callback({ code: e.code, details: e.details, metadata: e.metadata ?? new Metadata() });
      }
    })();
  };
}
