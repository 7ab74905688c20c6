import type * as ort from "onnxruntime-node";
import { Code, ConnectError, internal, invalidArgument, resourceExhausted, unavailable } from "../../../libs/errors/index.js";
import { silentLogger, type Logger } from "../../../libs/log/index.js";
import { fromOrtTensor, toOrtTensor, type HostTensor, type TensorMap } from "../tensor/index.js";
import type { Device } from "./device.js";
import { withReason } from "../error-reason.js";
import { sessionOptionsFor, type SessionTuning } from "./session-options.js";
import { EventLoopSession } from "./event-loop-session.js";
import type { ModelSource, Session, SessionFactory, SessionPlacement, SessionRun } from "./session.js";
import { WorkerSession } from "./worker-session.js";

export interface OrtExecutorOptions {
  /** The ONNX model: its file's path (see ModelCache), or its bytes. */
  readonly model: ModelSource;
  readonly device: Device;
  readonly tuning: SessionTuning;
  /** Sessions to create: runs that may go on at once (on the event loop, they take turns). */
  readonly instanceCount: number;
  /** Where the sessions run (session.ts). Default "thread". */
  readonly placement?: SessionPlacement;
  /**
   * Runs one session is given at once. Above 1 only on the event loop, where
   * runs given at once take turns in one loop turn and their answers leave
   * in one write (event-loop-session.ts). Default 1.
   */
  readonly runsPerSession?: number;
  /** "fraud@3", for messages. */
  readonly label: string;
  readonly logger?: Logger;
  /**
   * Called once when the executor can run nothing any more: every session
   * died and none could be put in its place. The owner should take the
   * version out of service and load it again.
   */
  readonly onBroken?: (error: ConnectError) => void;
  /** Tries at putting a new session in the place of a dead one before giving up. Default 3. */
  readonly replaceAttempts?: number;
}

/** Waits between tries at replacing a dead session: 100 ms, then 4x each time. */
const firstRetryMs = 100;

const factories: Record<SessionPlacement, SessionFactory> = {
  thread: (model, options) => WorkerSession.create(model, options),
  "event-loop": (model, options) => EventLoopSession.create(model, options),
};

interface Waiter {
  resolve(session: Session): void;
  reject(error: ConnectError): void;
}

/** One run's outputs, the session's own time for it and the time it waited for its turn on the session, µs. */
export interface ExecutorRun {
  readonly outputs: Map<string, HostTensor>;
  readonly runUs: number;
  readonly waitedUs: number;
}

/**
 * Owns the ONNX Runtime sessions of one model version and runs a batch on
 * a free one. Each session holds its own copy of the weights; the batcher
 * above never starts more runs than runsAtOnce, and a run asked for beyond
 * that waits for a session to come free rather than fail.
 *
 * Each session runs on a worker thread (worker-session.ts), so
 * instance_count sessions run batches at once and the event loop stays free
 * to answer RPCs while a batch runs; or, for a model whose run costs less
 * than that hop, on the event loop (event-loop-session.ts). A session that
 * dies is dropped from the pool at once (its run answered UNAVAILABLE) and
 * a new one is loaded from the model file in its place; runs wait for it
 * meanwhile.
 */
export class OrtExecutor {
  /** Live sessions, free or running. */
  private readonly sessions = new Set<Session>();
  /** Runs each session is on now; a session may take runsPerSession. */
  private readonly running = new Map<Session, number>();
  private readonly runsPerSession: number;
  private readonly waiters: Waiter[] = [];
  private readonly sessionOptions: ort.InferenceSession.SessionOptions;
  private readonly logger: Logger;
  private readonly label: string;
  private readonly createSession: SessionFactory;
  private replacing = 0;
  private released = false;
  private broken: ConnectError | undefined;
  private names: readonly string[] = [];
  /** Resolves release()'s wait once no session is running. */
  private onIdle: (() => void) | undefined;

  private constructor(private readonly options: OrtExecutorOptions) {
    this.sessionOptions = sessionOptionsFor(options.device, options.tuning);
    this.logger = options.logger ?? silentLogger;
    this.label = options.label;
    this.createSession = factories[options.placement ?? "thread"];
    this.runsPerSession = options.runsPerSession ?? 1;
    if (!Number.isSafeInteger(this.runsPerSession) || this.runsPerSession < 1) throw new Error(`runsPerSession is ${this.runsPerSession}; it must be a whole number, at least 1`);
    // A thread runs one call at a time: a second run given to it would only wait there, out of the batcher's sight.
    if (this.runsPerSession > 1 && this.placement !== "event-loop") throw new Error("only sessions on the event loop take more than one run at once");
  }

  static async create(options: OrtExecutorOptions): Promise<OrtExecutor> {
    const executor = new OrtExecutor(options);
    const sessions: Session[] = [];
    try {
      // One after another: creating sessions at once only competes for the same cores and memory.
      for (let i = 0; i < options.instanceCount; i++) sessions.push(await executor.createSession(options.model, executor.sessionOptions));
    } catch (error) {
      await Promise.allSettled(sessions.map((s) => s.release()));
      throw invalidArgument(`ONNX Runtime cannot load ${options.label}: ${messageOf(error)}`, error);
    }
    executor.names = sessions[0]?.outputNames ?? [];
    for (const session of sessions) executor.adopt(session);
    return executor;
  }

  /** Sessions asked for (while one is being replaced, one fewer is live). */
  get instanceCount(): number {
    return this.options.instanceCount;
  }

  /** Runs that may be given at once: sessions × runs per session. */
  get runsAtOnce(): number {
    return this.options.instanceCount * this.runsPerSession;
  }

  /** Where the sessions run. */
  get placement(): SessionPlacement {
    return this.options.placement ?? "thread";
  }

  /** Sessions alive now. */
  get liveSessions(): number {
    return this.sessions.size;
  }

  /** Output names in the model's order. */
  get outputNames(): readonly string[] {
    return this.names;
  }

  /**
   * Runs the model once on these inputs; outputs in the model's output order.
   * `owned`: the caller never reads `inputs` again, so their buffers move to
   * the session's thread without a copy (see Session.run).
   */
  async run(inputs: TensorMap, owned = false): Promise<Map<string, HostTensor>> {
    return (await this.runTimed(inputs, owned)).outputs;
  }

  /**
   * Runs the inputs `count` times, one after another; the session's own time
   * of each run, µs (SessionRun.runUs: on a thread, without the hop).
   */
  async timeRuns(inputs: TensorMap, count: number): Promise<number[]> {
    const times: number[] = [];
    for (let i = 0; i < count; i++) times.push((await this.runTimed(inputs, false)).runUs);
    return times;
  }

  /** As run(), with the run's times (what the batcher charges to its requests). */
  async runTimed(inputs: TensorMap, owned = false): Promise<ExecutorRun> {
    const session = await this.acquire();
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, host] of inputs) feeds[name] = toOrtTensor(host, name);
      let run: SessionRun;
      try {
        run = await session.run(feeds, owned);
      } catch (error) {
        throw runError(this.label, error);
      }
      const results = run.results;
      const outputs = new Map<string, HostTensor>();
      for (const name of session.outputNames) {
        const value = results[name];
        if (!value) throw internal(`${this.label}: the run returned no output '${name}'`);
        outputs.set(name, fromOrtTensor(value as ort.Tensor, name));
      }
      return { outputs, runUs: run.runUs, waitedUs: run.waitedUs };
    } finally {
      this.give(session);
    }
  }

  /**
   * Stops taking runs (runs waiting for a session are answered UNAVAILABLE),
   * frees the idle sessions at once and each running one when its run ends,
   * and after `graceMs` ends the threads of runs still going (their callers
   * get UNAVAILABLE). Resolves once every thread has ended.
   */
  async release(graceMs: number = Number.POSITIVE_INFINITY): Promise<void> {
    if (this.released) return;
    this.released = true;
    this.rejectWaiters(unavailable(`${this.label} was unloaded before the request got a session; retry the request`));
    for (const session of this.sessions) if (!this.running.has(session)) this.releaseSession(session);
    // Running sessions are released as their runs end (give()); each leaves `sessions` once freed.
    if (this.sessions.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => (this.onIdle = resolve)),
        ...(Number.isFinite(graceMs) ? [new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)))] : []),
      ]);
      clearTimeout(timer);
      this.onIdle = undefined;
    }
    if (this.sessions.size === 0) return;
    // Whatever is left is running (or freeing) past the grace: its thread is ended, its caller answered UNAVAILABLE.
    this.logger.warn("sessions still busy after the drain grace period; ending their threads", { model: this.label, sessions: this.sessions.size, graceMs });
    await Promise.allSettled([...this.sessions].map((s) => this.drop(s).terminate()));
  }

  /** @internal Test fault: a session dies as a crash of its thread would; `running` picks one that is running a batch. */
  async crashSession(which: "running" | "any" = "any"): Promise<void> {
    const session = this.pick(which);
    await session.crash();
  }

  /** @internal Test fault: every session's thread blocks for good, so runs given to them never answer. Thread placement only (EventLoopSession.hang). */
  hangSessions(): void {
    for (const session of this.sessions) session.hang();
  }

  private pick(which: "running" | "any"): Session {
    const running = [...this.sessions].filter((s) => this.running.has(s));
    const session = (which === "running" ? running : [...this.sessions])[0];
    if (!session) throw new Error(`${this.label} has no ${which === "running" ? "running" : "live"} session`);
    return session;
  }

  /** Puts a live session in the pool and watches it. */
  private adopt(session: Session): void {
    this.sessions.add(session);
    session.onDeath = (error) => this.onDeath(session, error);
    for (let i = 0; i < this.runsPerSession && this.waiters.length > 0; i++) this.waiters.shift()!.resolve(session);
  }

  private drop(session: Session): Session {
    this.sessions.delete(session);
    this.running.delete(session);
    session.onDeath = undefined;
    return session;
  }

  private onDeath(session: Session, error: Error): void {
    this.drop(session);
    if (this.released) {
      this.checkIdle();
      return;
    }
    this.logger.error("a session died; loading a new session in its place", { model: this.label, placement: this.placement, error: error.message, live: this.sessions.size });
    void this.replace();
  }

  /** Loads a session in the place of a dead one; after the last failed try with none left, the executor is broken. */
  private async replace(): Promise<void> {
    this.replacing++;
    const attempts = Math.max(1, this.options.replaceAttempts ?? 3);
    let lastError: unknown;
    try {
      for (let attempt = 0; attempt < attempts && !this.released; attempt++) {
        if (attempt > 0) await sleep(firstRetryMs * 4 ** (attempt - 1));
        if (this.released) return;
        try {
          const session = await this.createSession(this.options.model, this.sessionOptions);
          if (this.released) {
            await session.release();
            return;
          }
          this.adopt(session);
          this.logger.info("replaced a dead session", { model: this.label, live: this.sessions.size });
          return;
        } catch (error) {
          lastError = error;
          this.logger.warn("could not load a session in place of a dead one", { model: this.label, attempt: attempt + 1, attempts, error: messageOf(error) });
        }
      }
    } finally {
      this.replacing--;
    }
    if (this.released || this.sessions.size > 0 || this.replacing > 0 || this.broken) return;
    this.broken = unavailable(`${this.label} lost its sessions and could not load new ones (${messageOf(lastError)}); retry on another replica`, lastError);
    this.rejectWaiters(this.broken);
    this.options.onBroken?.(this.broken);
  }

  private acquire(): Promise<Session> {
    if (this.released) return Promise.reject(unavailable(`${this.label} was unloaded; its sessions are gone; retry the request`));
    if (this.broken) return Promise.reject(this.broken);
    const session = this.spare();
    if (session) return Promise.resolve(this.start(session));
    return new Promise((resolve, reject) => this.waiters.push({ resolve: (s) => resolve(this.start(s)), reject }));
  }

  /** A live session that may take one more run. */
  private spare(): Session | undefined {
    for (const session of this.sessions) if ((this.running.get(session) ?? 0) < this.runsPerSession) return session;
    return undefined;
  }

  private start(session: Session): Session {
    this.running.set(session, (this.running.get(session) ?? 0) + 1);
    return session;
  }

  /** A run on `session` is over. */
  private give(session: Session): void {
    if (!this.sessions.has(session)) return; // died while it ran: already dropped
    const left = (this.running.get(session) ?? 1) - 1;
    if (left > 0) this.running.set(session, left);
    else this.running.delete(session);
    if (this.released) {
      if (left === 0) this.releaseSession(session);
      return;
    }
    // The run it spares goes to the oldest waiter; with none, acquire() finds it.
    this.waiters.shift()?.resolve(session);
  }

  /** Frees a session no run uses; it stays in `sessions` until its thread has ended. */
  private releaseSession(session: Session): void {
    session.onDeath = undefined;
    void session
      .release()
      .catch((error: unknown) => this.logger.warn("freeing a session failed; its thread was ended", { model: this.label, error: messageOf(error) }))
      .finally(() => {
        this.drop(session);
        this.checkIdle();
      });
  }

  private checkIdle(): void {
    if (this.sessions.size === 0) this.onIdle?.();
  }

  private rejectWaiters(error: ConnectError): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(error);
  }
}

/**
 * A failed run. A thread that died is the runtime's fault, not the input's:
 * UNAVAILABLE, retryable, and the batcher does not bisect for it. Running
 * out of memory is the replica's (RESOURCE_EXHAUSTED, marked so REST does
 * not answer 429). Inputs were checked against the signature first, so what
 * remains is data the graph rejects (an index out of range): the caller's to fix.
 */
export function runError(label: string, error: unknown): ConnectError {
  if (error instanceof ConnectError && error.code === Code.Unavailable) return unavailable(`${label}: ${error.rawMessage}`, error);
  const message = messageOf(error);
  if (/out of memory|Failed to allocate|bad_alloc|CUDNN_STATUS_ALLOC|cudaErrorMemoryAllocation/i.test(message)) {
    return withReason(resourceExhausted(`${label} ran out of memory on this replica (${message}); send fewer rows per request or retry elsewhere`, error), "out-of-memory");
  }
  return invalidArgument(`${label} failed on this input: ${message}`, error);
}

function messageOf(error: unknown): string {
  if (error instanceof ConnectError) return error.rawMessage;
  return error instanceof Error ? error.message : String(error);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
