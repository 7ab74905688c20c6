import * as ort from "onnxruntime-node";
import { unavailable } from "../../../libs/errors/index.js";
import type { ModelSource, Session, SessionRun } from "./session.js";

interface InFlight {
  /** Settles once the runtime's call has returned, whoever was answered. */
  readonly done: Promise<void>;
  readonly reject: (error: Error) => void;
}

/**
 * One ONNX Runtime session on the event loop itself. onnxruntime-node's run
 * is one synchronous native call (deferred by a setImmediate), so a run
 * blocks the loop for exactly its duration, and no postMessage, structured
 * clone or thread wake-up is paid per request: for a model whose run is
 * shorter than that hop, the cheaper place (see session-placement.ts).
 * Inputs are read where they lie, so `owned` needs no copy and moves nothing.
 *
 * Runs given at once take turns: each is its own immediate, so the runs
 * started in one loop turn all run in the next check phase, one after
 * another, and their answers leave in one write, where one run at a time
 * would cost a loop turn and a write per answer (OrtExecutor's
 * runsPerSession).
 *
 * Such a session cannot die apart from the process (a crash in native code
 * on the main thread takes the replica with it) nor hang apart from it (a
 * stuck run stops every RPC): what a death means here is the crash() test
 * fault, which drops the session as a dead thread would be; hang() is
 * refused. A run, once started, always finishes, so release() and
 * terminate() wait for it and let it answer: never long, since only small,
 * fast models are placed here.
 */
export class EventLoopSession implements Session {
  readonly placement = "event-loop";
  onDeath: ((error: Error) => void) | undefined;
  private readonly inFlight = new Set<InFlight>();
  private failure: Error | undefined;
  private freed: Promise<void> | undefined;

  private constructor(private readonly session: ort.InferenceSession) {}

  static async create(model: ModelSource, options: ort.InferenceSession.SessionOptions): Promise<EventLoopSession> {
    // Two calls for one: each of create's overloads takes one kind of source.
    const session = typeof model === "string" ? await ort.InferenceSession.create(model, options) : await ort.InferenceSession.create(model, options);
    return new EventLoopSession(session);
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  get alive(): boolean {
    return this.failure === undefined;
  }

  run(feeds: Record<string, ort.Tensor>): Promise<SessionRun> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      const calledAt = performance.now();
      let startedAt = calledAt;
      // The runtime defers the call by a setImmediate of its own, made as run() is called (before its first
      // await); immediates run in order, so this one runs just before it and marks when the run's turn came.
      setImmediate(() => (startedAt = performance.now()));
      const entry: InFlight = {
        reject,
        done: this.session.run(feeds).then(
          (results) => resolve({ results, runUs: (performance.now() - startedAt) * 1000, waitedUs: (startedAt - calledAt) * 1000 }),
          reject,
        ).finally(() => this.inFlight.delete(entry)),
      };
      this.inFlight.add(entry);
    });
  }

  /** Takes no new run, lets the ones going finish and answer, then frees the session. */
  async release(): Promise<void> {
    this.failure ??= unavailable("the session was released before the request reached it; retry the request");
    await this.free();
  }

  /**
   * As release(): a run on the event loop cannot be cut, so the ones going
   * finish anyway, and their callers get the answer rather than UNAVAILABLE.
   */
  async terminate(): Promise<void> {
    this.failure ??= unavailable("the event-loop session was stopped before the request reached it; retry the request");
    await this.free();
  }

  /** @internal Test fault: the session is dropped as a dead thread would be (onDeath fires, its runs answer UNAVAILABLE). */
  async crash(): Promise<void> {
    this.die(unavailable("the event-loop session died before it answered; retry the request"));
    await this.free();
  }

  /** @internal Refused: a run stuck on the event loop would stop the whole replica, so there is nothing honest to simulate. */
  hang(): never {
    throw new Error("an event-loop session cannot hang on its own (a stuck run would block every RPC); use thread placement for this fault");
  }

  private die(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    for (const run of this.inFlight) run.reject(error);
    this.onDeath?.(error);
  }

  private free(): Promise<void> {
    return (this.freed ??= (async () => {
      await Promise.all([...this.inFlight].map((run) => run.done));
      await this.session.release();
    })());
  }
}
