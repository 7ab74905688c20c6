import { fromBinary, toBinary, type DescMessage, type MessageShape } from "@bufbuild/protobuf";
import { ConnectError, type HandlerContext } from "@connectrpc/connect";
import { headersToMetadata, metadataToHeaders } from "../../../libs/host/index.js";
import type { Forwarder } from "../forwarding/forward-unary.js";
import type { ForwardedMethod } from "../forwarding/method-specs.js";
import { UpstreamError } from "../forwarding/upstream-error.js";

/**
 * The Connect / gRPC-Web path (HTTP port): the message arrives decoded, so
 * it is encoded once and goes the gRPC path's way from there.
 */
export async function forwardTyped<I extends DescMessage, O extends DescMessage>(
  forwarder: Forwarder,
  method: ForwardedMethod,
  schemas: { input: I; output: O },
  request: MessageShape<I>,
  context: HandlerContext,
): Promise<MessageShape<O>> {
  const metadata = headersToMetadata(context.requestHeader);
  try {
    const bytes = toBinary(schemas.input, request);
    const body = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const timeoutMs = context.timeoutMs();
    const response = await forwarder.forward(method, {
      body,
      metadata,
      deadlineMs: timeoutMs === undefined ? undefined : Date.now() + timeoutMs,
      signal: context.signal,
    });
    metadataToHeaders(response.headers).forEach((value, key) => context.responseHeader.set(key, value));
    return fromBinary(schemas.output, response.body);
  } catch (error) {
    throw toConnectError(error);
  }
}

export function toConnectError(error: unknown): ConnectError {
  if (error instanceof UpstreamError) return new ConnectError(error.details, error.code as number, error.metadata ? metadataToHeaders(error.metadata) : undefined);
  return ConnectError.from(error);
}
