import type { Client } from "@connectrpc/connect";
import { context, ROOT_CONTEXT, SpanStatusCode, trace, type Attributes, type Span } from "@opentelemetry/api";
import { Code, ConnectError, cancelled, deadlineExceeded } from "../../../libs/errors/index.js";
import type { AbortLike } from "../../../libs/host/index.js";
import type { FeatureColumn, FeatureService, FeatureView } from "../../../libs/gen/tessera/feature/v1/feature_pb.js";

export type FeatureClient = Client<typeof FeatureService>;

/** What bounds one caller's wait: its own deadline and cancel (a Predict's). */
export interface LookupCall {
  /** The caller's time left, ms; the lookup's own timeoutMs still caps it. */
  readonly timeoutMs?: number;
  /** The caller gave up (client cancelled, its deadline passed). */
  readonly signal?: AbortLike;
}

interface Waiter {
  readonly keys: readonly string[];
  /** Where its rows start in the sent call; set at flush. */
  start: number;
  readonly deadlineAt: number;
  /** Its own deadline's answer, when the caller's deadline is shorter than the lookup's. */
  readonly deadlineError?: () => ConnectError;
  readonly span: Span;
  settle(outcome: { columns: FeatureColumn[] } | { error: unknown }): void;
}

interface Batch {
  readonly id: string;
  readonly refs: readonly string[];
  readonly waiters: Set<Waiter>;
  keyCount: number;
  sent: boolean;
  /** Aborts the shared GetOnlineFeatures once nobody waits on it. */
  readonly abort: AbortController;
  /** The shared fetch's span, from flush on (see the class comment). */
  span?: Span;
}

export interface FeatureLookupOptions {
  /** Longest a GetOnlineFeatures may take, ms, whatever the callers allow. Default 1000 ms: features are on the request path. */
  timeoutMs?: number;
  /** Most entity keys in one call; a fuller batch is sent at once. Default 1000. */
  maxKeys?: number;
}

const tracer = () => trace.getTracer("tessera");
// How much longer than its latest caller's own deadline a shared call may run (see flush).
const OWN_DEADLINE_FIRST_MS = 50;
// Errors this lookup made for a caller whose own deadline or cancel fired, as opposed to the feature service failing.
const callerEnded = new WeakSet<object>();

/** Whether `error` is a lookup's answer to a caller whose own deadline passed or who cancelled (not a feature-service failure). */
export function isCallerEnded(error: unknown): boolean {
  return typeof error === "object" && error !== null && callerEnded.has(error);
}

/**
 * A small batching collector in front of the feature service: lookups
 * made in the same turn of the event loop for the same features are sent
 * as ONE GetOnlineFeatures, and each caller gets its own rows back. Under
 * load many Predicts arrive per turn, so the feature hop is paid per
 * batch, not per request.
 *
 * Each caller keeps its own deadline and cancel: when either fires it is
 * answered at once (DEADLINE_EXCEEDED / CANCELLED) and leaves the batch;
 * the shared call runs until the latest deadline still waiting on it (at
 * most timeoutMs), and is aborted, or never sent, once nobody waits.
 * Tracing: each caller gets a "feature lookup" span in its request's
 * trace, and the shared call a "feature fetch" span, parent of the
 * GetOnlineFeatures client span. With one caller the fetch is a child of
 * its lookup, so the request's trace still covers the feature hop; with
 * several it belongs to none of them: a trace of its own, linked to every
 * caller's lookup span, and each of those linked to it.
 */
export class FeatureLookup {
  private readonly pending = new Map<string, Batch>();
  private readonly views = new Map<string, Promise<FeatureView>>();
  private readonly timeoutMs: number;
  private readonly maxKeys: number;
  /** GetOnlineFeatures calls sent (for tests and metrics). */
  calls = 0;
  /** Shared calls dropped because every caller left first: aborted in flight, or never sent. */
  abandoned = 0;

  constructor(
    private readonly client: FeatureClient,
    options: FeatureLookupOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.maxKeys = options.maxKeys ?? 1000;
  }

  /** Columns for `keys` (in order), one per ref. */
  read(refs: readonly string[], keys: readonly string[], call: LookupCall = {}): Promise<FeatureColumn[]> {
    if (call.signal?.aborted) return Promise.reject(endedError(call.signal));
    const id = refs.join("\u0000");
    let batch = this.pending.get(id);
    if (!batch) {
      batch = this.openBatch(id, refs);
      const scheduled = batch;
      setImmediate(() => this.flush(scheduled));
    }
    const joined = batch;
    const span = tracer().startSpan("feature lookup", { attributes: { "tessera.feature.keys": keys.length } }, context.active());
    const budget = Math.min(this.timeoutMs, call.timeoutMs ?? Infinity);
    // A caller-side deadline shorter than the lookup's own: answered in its own words when it passes, whatever the shared call does.
    const ownDeadline = call.timeoutMs !== undefined && call.timeoutMs < this.timeoutMs;
    return new Promise<FeatureColumn[]>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const onAbort = () => this.leave(joined, waiter, endedError(call.signal!));
      const waiter: Waiter = {
        keys,
        start: 0,
        deadlineAt: Date.now() + budget,
        ...(ownDeadline ? { deadlineError: () => ended(deadlineExceeded(`the call's deadline (${call.timeoutMs} ms) passed while its features were being read`)) } : {}),
        span,
        settle: (outcome) => {
          clearTimeout(timer);
          call.signal?.removeEventListener("abort", onAbort);
          if ("columns" in outcome) {
            span.end();
            resolve(outcome.columns);
          } else {
            const error = ConnectError.from(outcome.error);
            span.setStatus({ code: SpanStatusCode.ERROR, message: `${Code[error.code]}: ${error.rawMessage}` });
            span.end();
            reject(outcome.error);
          }
        },
      };
      joined.waiters.add(waiter);
      joined.keyCount += keys.length;
      if (waiter.deadlineError) timer = setTimeout(() => this.leave(joined, waiter, waiter.deadlineError!()), budget);
      call.signal?.addEventListener("abort", onAbort, { once: true });
      if (!joined.sent && joined.keyCount >= this.maxKeys) this.flush(joined);
    });
  }

  /** A view's definition, fetched once and kept (types and vector lengths do not change in place). */
  view(name: string): Promise<FeatureView> {
    let found = this.views.get(name);
    if (!found) {
      found = this.client.describeFeatureView({ name }, { timeoutMs: this.timeoutMs }).then((r) => r.featureView!);
      // A failure is not kept: the next call asks again.
      found.catch(() => this.views.delete(name));
      this.views.set(name, found);
    }
    return found;
  }

  private openBatch(id: string, refs: readonly string[]): Batch {
    const batch: Batch = { id, refs, waiters: new Set(), keyCount: 0, sent: false, abort: new AbortController() };
    this.pending.set(id, batch);
    return batch;
  }

  /** A caller whose deadline or cancel fired: answered now, and out of the batch; the last one out drops the shared call. */
  private leave(batch: Batch, waiter: Waiter, error: ConnectError): void {
    if (!batch.waiters.delete(waiter)) return;
    batch.keyCount -= waiter.keys.length;
    waiter.settle({ error });
    if (batch.waiters.size > 0) return;
    this.abandoned++;
    if (this.pending.get(batch.id) === batch) this.pending.delete(batch.id);
    batch.sent = true;
    batch.abort.abort(cancelled("every call waiting on this feature read has ended"));
    batch.span?.setAttribute("tessera.feature.abandoned", true);
    batch.span?.end();
  }

  private flush(batch: Batch): void {
    if (batch.sent) return;
    batch.sent = true;
    if (this.pending.get(batch.id) === batch) this.pending.delete(batch.id);
    const waiters = [...batch.waiters];
    const keys: string[] = [];
    for (const waiter of waiters) {
      waiter.start = keys.length;
      keys.push(...waiter.keys);
    }
    // Long enough for the latest caller still waiting; each earlier one leaves at its own deadline. When the
    // latest has a deadline of its own, its timer must fire before the call's (it leaves, the call is dropped,
    // and it is answered in its own words), so the call gets a little longer.
    const latest = waiters.reduce<Waiter | undefined>((a, b) => (a && a.deadlineAt >= b.deadlineAt ? a : b), undefined);
    const timeoutMs = Math.max(1, (latest?.deadlineAt ?? 0) - Date.now()) + (latest?.deadlineError ? OWN_DEADLINE_FIRST_MS : 0);
    batch.span = fetchSpan(waiters, { "tessera.feature.refs": batch.refs.length, "tessera.feature.keys": keys.length, "tessera.feature.callers": waiters.length });
    this.calls++;
    const span = batch.span;
    const request = context.with(trace.setSpan(ROOT_CONTEXT, span), () =>
      this.client.getOnlineFeatures({ features: [...batch.refs], entityKeys: keys }, { timeoutMs, signal: batch.abort.signal }),
    );
    request.then(
      (response) => {
        span.end();
        for (const waiter of batch.waiters) {
          waiter.settle({
            columns: response.columns.map((column) => ({
              ...column,
              values: column.values.slice(waiter.start, waiter.start + waiter.keys.length),
              statuses: column.statuses.slice(waiter.start, waiter.start + waiter.keys.length),
              eventTimes: column.eventTimes.slice(waiter.start, waiter.start + waiter.keys.length),
            })),
          });
        }
        batch.waiters.clear();
      },
      (error: unknown) => {
        if (batch.abort.signal.aborted) return; // abandoned: nobody is left to tell, and the span has ended
        const status = ConnectError.from(error);
        span.setStatus({ code: SpanStatusCode.ERROR, message: `${Code[status.code]}: ${status.rawMessage}` });
        span.end();
        for (const waiter of batch.waiters) waiter.settle({ error });
        batch.waiters.clear();
      },
    );
  }
}

/** The shared call's span: under its one caller's lookup, or a root linked both ways to each of several. */
function fetchSpan(waiters: readonly Waiter[], attributes: Attributes): Span {
  const [only] = waiters;
  if (waiters.length === 1 && only) return tracer().startSpan("feature fetch", { attributes }, trace.setSpan(ROOT_CONTEXT, only.span));
  const span = tracer().startSpan("feature fetch", { root: true, attributes, links: waiters.map((w) => ({ context: w.span.spanContext() })) });
  for (const waiter of waiters) waiter.span.addLink({ context: span.spanContext() });
  return span;
}

function ended(error: ConnectError): ConnectError {
  callerEnded.add(error);
  return error;
}

/** The answer for a caller whose signal fired: its reason when that is a status (a deadline), else CANCELLED. */
function endedError(signal: AbortLike): ConnectError {
  const reason: unknown = signal.reason;
  if (reason instanceof ConnectError && (reason.code === Code.DeadlineExceeded || reason.code === Code.Canceled)) {
    return ended(new ConnectError(`${reason.rawMessage} while its features were being read`, reason.code, undefined, undefined, reason));
  }
  return ended(cancelled("the call was cancelled while its features were being read", reason));
}
