import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues, type ContextValues, type HandlerContext } from "@connectrpc/connect";
import type { Metadata } from "@grpc/grpc-js";
import { CallAbort, type AbortLike } from "./call-abort.js";
import { metadataToHeaders } from "./grpc-status.js";

// The reason a finished call's signal carries: made once, not per call
// (AbortController.abort() with no reason builds a DOMException each time).
const CALL_ENDED = new ConnectError("the call has ended", Code.Canceled);

/**
 * The HandlerContext of one call on the gRPC port, cheap enough for every
 * call (connect's createHandlerContext costs three AbortControllers, four
 * listeners and four Headers per call): one AbortController for the
 * deadline, the client's cancel, the server's shutdown and the call's end,
 * made when a handler first reads `signal` (a handler that never does costs
 * no controller and no abort event), or, cheaper still, a CallAbort for
 * code that only reads the call's end (`callAbort`, see call-abort.ts);
 * headers and context values made only when a handler reads them.
 */
export class GrpcCallContext implements HandlerContext {
  readonly requestMethod = "POST";
  readonly protocolName = "grpc";
  /** Set once the response headers went out (they go before the first message or the status). */
  headerSent = false;
  private controller: AbortController | undefined;
  private abortLike: CallAbort | undefined;
  private ended = false;
  /** Why the call was aborted; a signal or CallAbort made later starts aborted with it. */
  private endedWith: unknown;
  private readonly deadlineMs: number | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private requestHeaders: Headers | undefined;
  private responseHeaders: Headers | undefined;
  private responseTrailers: Headers | undefined;
  private contextValues: ContextValues | undefined;

  constructor(
    readonly service: DescService,
    readonly method: DescMethod,
    readonly url: string,
    private readonly metadata: Metadata,
    /** The call's deadline, epoch ms; Infinity or NaN: none. */
    deadlineMs: number,
  ) {
    if (Number.isFinite(deadlineMs)) {
      this.deadlineMs = deadlineMs;
      const left = deadlineMs - Date.now();
      if (left <= 0) this.abort(deadlineError());
      else this.timer = setTimeout(abortAtDeadline, left, this);
    }
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      this.controller = new AbortController();
      if (this.ended) this.controller.abort(this.endedWith);
    }
    return this.controller.signal;
  }

  /** The call's end as a CallAbort: aborted with the same reason as `signal`, at a fraction of its cost. */
  get callAbort(): CallAbort {
    if (!this.abortLike) {
      this.abortLike = new CallAbort();
      if (this.ended) this.abortLike.abort(this.endedWith);
    }
    return this.abortLike;
  }

  timeoutMs(): number | undefined {
    return this.deadlineMs === undefined ? undefined : this.deadlineMs - Date.now();
  }

  get requestHeader(): Headers {
    return (this.requestHeaders ??= metadataToHeaders(this.metadata));
  }

  /** One request header as `requestHeader.get(name)` gives it, read from the metadata without building the Headers. */
  header(name: string): string | undefined {
    if (this.requestHeaders) return this.requestHeaders.get(name) ?? undefined;
    const values = this.metadata.get(name.toLowerCase());
    if (values.length === 0) return undefined;
    return values.map((v) => (typeof v === "string" ? v : Buffer.from(v).toString("base64"))).join(", ");
  }

  get responseHeader(): Headers {
    return (this.responseHeaders ??= new Headers());
  }

  get responseTrailer(): Headers {
    return (this.responseTrailers ??= new Headers());
  }

  get values(): ContextValues {
    return (this.contextValues ??= createContextValues());
  }

  /** The response headers a handler set, or undefined when it never touched them. */
  get setHeader(): Headers | undefined {
    return this.responseHeaders;
  }

  /** The response trailers a handler set, or undefined when it never touched them. */
  get setTrailer(): Headers | undefined {
    return this.responseTrailers;
  }

  /** Aborts the call's signal (the first reason wins). */
  abort(reason: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.endedWith = reason;
    this.controller?.abort(reason);
    this.abortLike?.abort(reason);
  }

  /** The client went away; nothing is allocated once the call is over. */
  cancelled(): void {
    if (!this.ended) this.abort(new ConnectError("the client cancelled the call", Code.Canceled));
  }

  /** The call is answered: frees the deadline timer and ends the signal. */
  end(): void {
    clearTimeout(this.timer);
    this.abort(CALL_ENDED);
  }
}

function deadlineError(): ConnectError {
  return new ConnectError("the operation timed out", Code.DeadlineExceeded);
}

function abortAtDeadline(context: GrpcCallContext): void {
  context.abort(deadlineError());
}

/**
 * The cheapest AbortLike for a call: a gRPC call's own CallAbort, else the
 * context's signal (the Connect/HTTP port makes one per call anyway). For
 * handing to code that only reads the call's end; whatever needs a real
 * AbortSignal (a client call, fetch) takes `context.signal`.
 */
export function callAbortOf(context: HandlerContext): AbortLike {
  return context instanceof GrpcCallContext ? context.callAbort : context.signal;
}
