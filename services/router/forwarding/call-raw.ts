import { Metadata, status, type Client, type ServiceError } from "@grpc/grpc-js";
import { UpstreamError } from "./upstream-error.js";

export interface RawResponse {
  body: Buffer;
  headers: Metadata;
  trailers: Metadata;
}

const identity = (bytes: Buffer): Buffer => bytes;

/**
 * One unary call with the request's bytes as they are. The deadline is the
 * caller's (every hop is bounded by it); aborting `signal` cancels the call
 * upstream.
 */
export function callRaw(channel: Client, path: string, body: Buffer, metadata: Metadata, deadlineMs: number, signal: AbortSignal): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let headers = new Metadata();
    let trailers = new Metadata();
    const call = channel.makeUnaryRequest<Buffer, Buffer>(path, identity, identity, body, metadata, { deadline: deadlineMs }, (error: ServiceError | null, response?: Buffer) => {
      signal.removeEventListener("abort", onAbort);
      if (error || !response) {
        reject(new UpstreamError(error?.code ?? status.UNKNOWN, error?.details ?? "no response", error?.metadata));
        return;
      }
      resolve({ body: response, headers, trailers });
    });
    call.on("metadata", (metadata: Metadata) => (headers = metadata));
    call.on("status", (s: { metadata: Metadata }) => (trailers = s.metadata));
    const onAbort = () => call.cancel();
    if (signal.aborted) call.cancel();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
}
