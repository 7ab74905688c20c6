import type * as ort from "onnxruntime-node";

/**
 * What a session loads: the path of an .onnx file (what a replica uses: the
 * session reads the file itself, so the weights are never copied through the
 * main thread, and external data files beside it are found), or the bytes
 * of a small model (tests, warm-up probes).
 */
export type ModelSource = string | Uint8Array;

/**
 * Where a version's sessions run: each on a worker thread of its own
 * (worker-session.ts), or on the event loop itself (event-loop-session.ts),
 * where a run blocks the loop for its duration but costs no hop.
 */
export type SessionPlacement = "thread" | "event-loop";

/** One run's results and where its time went. */
export interface SessionRun {
  readonly results: Record<string, ort.Tensor>;
  /**
   * The session's own time for the run, µs, measured where it ran: on a
   * thread around the runtime's call (no hop), on the event loop from its
   * turn to its results (not the runs ahead of it).
   */
  readonly runUs: number;
  /**
   * µs between the call and the run's start spent behind other runs given
   * to the same session at once (event loop only; 0 on a thread, which is
   * given one run at a time).
   */
  readonly waitedUs: number;
}

/**
 * One ONNX Runtime session, wherever it runs. OrtExecutor pools them and
 * gives a session on a thread one run at a time; one on the event loop may
 * be given several at once (they take turns, see event-loop-session.ts).
 *
 * A session that dies on its own (its thread crashed) fails every request
 * it held with UNAVAILABLE, and every later one at once; `onDeath` tells the
 * owner, so it can put a new session in its place.
 */
export interface Session {
  readonly placement: SessionPlacement;
  /** Output names in the model's order. */
  readonly outputNames: readonly string[];
  /** False once the session has died or been released or terminated. */
  readonly alive: boolean;
  /** Called once if the session dies on its own (not by release() or terminate()). */
  onDeath: ((error: Error) => void) | undefined;
  /**
   * Runs the session once. `owned`: the caller hands the feeds over and never
   * reads them again, so a session on another thread may move their buffers
   * there instead of copying them (they may be detached afterwards).
   */
  run(feeds: Record<string, ort.Tensor>, owned?: boolean): Promise<SessionRun>;
  /** Frees the session. A run still going is cut (thread) or finished first (event loop). */
  release(): Promise<void>;
  /** Ends the session now, whatever it is doing; what it held is answered UNAVAILABLE. */
  terminate(): Promise<void>;
  /** @internal Test fault: the session dies as a crash would (onDeath fires). */
  crash(): Promise<void>;
  /** @internal Test fault: the session blocks for good; runs sent to it never answer. Thread placement only. */
  hang(): void;
}

/** Creates a session of one placement; the executor's only way to get one. */
export type SessionFactory = (model: ModelSource, options: ort.InferenceSession.SessionOptions) => Promise<Session>;
