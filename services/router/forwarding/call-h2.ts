import http2 from "node:http2";
import { Metadata, status } from "@grpc/grpc-js";
import type { RawResponse } from "./call-raw.js";
import { UpstreamError } from "./upstream-error.js";

const { NGHTTP2_CANCEL, NGHTTP2_REFUSED_STREAM, NGHTTP2_ENHANCE_YOUR_CALM, NGHTTP2_FLAG_END_STREAM } = http2.constants;

/**
 * One unary gRPC call on a node:http2 session, the request's bytes as they
 * are: a 5-byte prefix (uncompressed flag, length) and the body out; one
 * framed message, then trailers (grpc-status, grpc-message, metadata such
 * as grpc-status-details-bin) back. What grpc-js's client would report —
 * codes, details, header and trailer metadata — without its per-call
 * machinery (interceptors, filters, resolver, load balancer), since the
 * router picks the replica itself. `deadlineMs` is sent as grpc-timeout and
 * enforced here; aborting `signal` resets the stream (CANCELLED).
 */
export function callH2(session: http2.ClientHttp2Session, path: string, body: Buffer, metadata: Metadata, deadlineMs: number, signal: AbortSignal, maxResponseBytes: number): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new UpstreamError(status.CANCELLED, "Cancelled on client"));
    const left = Math.max(1, Math.ceil(deadlineMs - Date.now()));
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({
        ...metadata.toHttp2Headers(),
        ":method": "POST",
        ":path": path,
        "content-type": "application/grpc",
        te: "trailers",
        "grpc-timeout": left <= 99_999_999 ? `${left}m` : `${Math.ceil(left / 1000)}S`,
      });
    } catch (error) {
      return reject(new UpstreamError(status.UNAVAILABLE, `could not start a call: ${(error as Error).message}`));
    }
    let settled = false;
    const finish = (outcome: RawResponse | UpstreamError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
      if (outcome instanceof UpstreamError) reject(outcome);
      else resolve(outcome);
    };
    const stop = (code: status, details: string) => {
      finish(new UpstreamError(code, details));
      if (!stream.closed) stream.close(NGHTTP2_CANCEL);
    };
    const timer = setTimeout(() => stop(status.DEADLINE_EXCEEDED, `Deadline exceeded after ${(left / 1000).toFixed(3)}s`), left);
    const onAbort = () => stop(status.CANCELLED, "Cancelled on client");
    signal.addEventListener("abort", onAbort, { once: true });

    let headers = new Metadata();
    let httpStatus = 0;
    const chunks: Buffer[] = [];
    let received = 0;
    const onStatus = (raw: http2.IncomingHttpHeaders) => {
      const trailers = Metadata.fromHttp2Headers(raw);
      const code = Number(trailers.get("grpc-status")[0] ?? NaN);
      const message = trailers.get("grpc-message")[0];
      trailers.remove("grpc-status");
      trailers.remove("grpc-message");
      if (!Number.isInteger(code)) return finish(httpFailure(httpStatus, trailers));
      if (code !== status.OK) return finish(new UpstreamError(code, typeof message === "string" ? decodeDetails(message) : "", trailers));
      const response = unframe(Buffer.concat(chunks, received));
      if (response instanceof UpstreamError) return finish(response);
      finish({ body: response, headers, trailers });
    };
    stream.on("response", (raw, flags) => {
      httpStatus = Number(raw[":status"]);
      // Trailers-only (an error before any message): the status is in these headers.
      if (flags & NGHTTP2_FLAG_END_STREAM) return onStatus(raw);
      headers = Metadata.fromHttp2Headers(raw);
      headers.remove("grpc-encoding");
      headers.remove("grpc-accept-encoding");
    });
    stream.on("data", (chunk: Buffer) => {
      received += chunk.length;
      if (received > maxResponseBytes + 5) return stop(status.RESOURCE_EXHAUSTED, `Received message larger than max (${received - 5} vs. ${maxResponseBytes})`);
      chunks.push(chunk);
    });
    stream.on("trailers", onStatus);
    stream.on("error", (error: Error) => finish(new UpstreamError(status.UNAVAILABLE, `connection to the replica failed: ${error.message}`)));
    stream.on("close", () => {
      if (settled) return;
      const code = stream.rstCode;
      // The connection went (a replica killed, restarted): its streams close as cancelled, but nothing cancelled this call.
      if (session.destroyed || session.closed) finish(new UpstreamError(status.UNAVAILABLE, `Connection dropped (stream closed with code ${code} and no status)`));
      else if (code === NGHTTP2_REFUSED_STREAM) finish(new UpstreamError(status.UNAVAILABLE, "Stream refused by server"));
      else if (code === NGHTTP2_CANCEL) finish(new UpstreamError(status.CANCELLED, "Call cancelled"));
      else if (code === NGHTTP2_ENHANCE_YOUR_CALM) finish(new UpstreamError(status.RESOURCE_EXHAUSTED, "Bandwidth exhausted or memory limit exceeded"));
      else finish(new UpstreamError(status.UNAVAILABLE, `Connection dropped (stream closed with code ${code} and no status)`));
    });
    const prefix = Buffer.allocUnsafe(5);
    prefix.writeUInt8(0, 0);
    prefix.writeUInt32BE(body.length, 1);
    stream.write(prefix);
    stream.end(body);
  });
}

/** The one message of a unary answer, out of its gRPC framing. */
function unframe(framed: Buffer): Buffer | UpstreamError {
  if (framed.length < 5) return new UpstreamError(status.UNIMPLEMENTED, "the replica answered OK with no message");
  if (framed.readUInt8(0) !== 0) return new UpstreamError(status.INTERNAL, "the replica answered a compressed message, which the router never asks for");
  const length = framed.readUInt32BE(1);
  if (framed.length !== 5 + length) return new UpstreamError(status.INTERNAL, `the replica's answer is not one message (${framed.length - 5} bytes for a ${length}-byte message)`);
  return framed.subarray(5);
}

function decodeDetails(text: string): string {
  try {
    return decodeURI(text);
  } catch {
    return text;
  }
}

// gRPC's mapping of an HTTP status that came without a grpc-status.
function httpFailure(httpStatus: number, metadata: Metadata): UpstreamError {
  const code =
    httpStatus === 400 ? status.INTERNAL
    : httpStatus === 401 ? status.UNAUTHENTICATED
    : httpStatus === 403 ? status.PERMISSION_DENIED
    : httpStatus === 404 ? status.UNIMPLEMENTED
    : httpStatus === 429 || httpStatus === 502 || httpStatus === 503 || httpStatus === 504 ? status.UNAVAILABLE
    : status.UNKNOWN;
  return new UpstreamError(code, `Received HTTP status code ${httpStatus}`, metadata);
}
