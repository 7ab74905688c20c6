import { createRequire } from "node:module";
import { setTimeout as sleep } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import * as ort from "onnxruntime-node";
import { unavailable } from "../../../libs/errors/index.js";
import type { ModelSource, Session, SessionRun } from "./session.js";
import { packTensors, type WireTensor } from "./wire-tensors.js";

export type { ModelSource } from "./session.js";

type Reply = { id: number; ok: true; outputNames?: string[]; outputs?: WireTensor[]; runUs?: number } | { id: number; ok: false; message: string };

// The worker is CommonJS source run with `eval`, so it loads the same way
// from TypeScript under test and from dist/, and requires onnxruntime-node
// by the absolute path the main thread resolved.
const WORKER_SOURCE = `
const { parentPort, workerData } = require("node:worker_threads");
const ort = require(workerData.ortPath);
// 1 while this thread is in (or about to enter) an ONNX Runtime call: the main thread never ends it then (see endThread).
const inRuntime = new Int32Array(workerData.inRuntime);
const runtimeCall = async (call) => {
  Atomics.store(inRuntime, 0, 1);
  try {
    return await call();
  } finally {
    Atomics.store(inRuntime, 0, 0);
  }
};
let session;
parentPort.on("message", async (message) => {
  try {
    if (message.type === "load") {
      session = await runtimeCall(() => ort.InferenceSession.create(message.model, message.options));
      parentPort.postMessage({ id: message.id, ok: true, outputNames: session.outputNames });
    } else if (message.type === "run") {
      const feeds = {};
      for (const t of message.inputs) feeds[t.name] = new ort.Tensor(t.type, t.data, t.dims);
      // Timed here, on the session's thread: what the run costs, without the hop (session placement reads it).
      const started = performance.now();
      const results = await runtimeCall(() => session.run(feeds));
      const runUs = (performance.now() - started) * 1000;
      const outputs = [];
      const transfer = [];
      for (const name of session.outputNames) {
        const value = results[name];
        let data = value.data;
        // Move output buffers to the main thread (see wire-tensors.ts); a view into a larger buffer is copied out first.
        if (ArrayBuffer.isView(data) && data.buffer instanceof ArrayBuffer) {
          if (data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength) data = data.slice();
          if (!transfer.includes(data.buffer)) transfer.push(data.buffer);
        }
        outputs.push({ name, type: value.type, dims: value.dims, data });
      }
      parentPort.postMessage({ id: message.id, ok: true, outputs, runUs }, transfer);
    } else if (message.type === "release") {
      if (session) await runtimeCall(() => session.release());
      parentPort.postMessage({ id: message.id, ok: true });
    } else if (message.type === "hang") {
      // Test fault: the thread blocks for good, as a run stuck in native code would. It blocks in JavaScript,
      // where ending it is safe, even when this came while a run waited to enter the runtime.
      Atomics.store(inRuntime, 0, 0);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
    }
  } catch (error) {
    parentPort.postMessage({ id: message.id, ok: false, message: error && error.message ? error.message : String(error) });
  }
});
`;

const ortPath = createRequire(import.meta.url).resolve("onnxruntime-node");

/**
 * Longest a thread is waited for to come out of an ONNX Runtime call before
 * it is ended; past it, its callers are answered and it is ended the moment
 * it comes out. Ending a worker inside a native call can abort the whole
 * process: when the call returns into the dying thread, node-addon-api
 * throws into it and std::terminate runs ("terminate called after throwing
 * an instance of 'Napi::Error'", seen once in a full test run).
 */
const RUNTIME_EXIT_WAIT_MS = 1_000;
const RUNTIME_POLL_MS = 2;

/**
 * One ONNX Runtime session on a thread of its own. onnxruntime-node runs a
 * session synchronously on the calling thread, so sessions on the event
 * loop would take turns and stall every RPC while a batch runs; on worker
 * threads, `instance_count` sessions really run batches at once and the
 * event loop keeps answering.
 *
 * A thread that dies (a crash in native code that spares the process, an
 * exit, a terminate) fails every request it held with UNAVAILABLE, and
 * every later one at once; `onDeath` tells the owner, so it can put a new
 * session in its place.
 */
export class WorkerSession implements Session {
  readonly placement = "thread";
  private readonly pending = new Map<number, { resolve: (reply: Reply & { ok: true }) => void; reject: (error: Error) => void }>();
  private nextId = 1;
  private failure: Error | undefined;
  /** Set by release()/terminate(): the thread's end is ours, not a death. */
  private ending = false;
  private readonly exited: Promise<void>;
  /** 1 while the thread is in an ONNX Runtime call (set by the thread itself). */
  private readonly inRuntime: Int32Array;
  private readonly fail: (error: Error) => void;
  outputNames: readonly string[] = [];
  /** Called once if the thread dies on its own (not by release() or terminate()). */
  onDeath: ((error: Error) => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    inRuntime: SharedArrayBuffer,
  ) {
    this.inRuntime = new Int32Array(inRuntime);
    worker.on("message", (reply: Reply) => {
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply);
      else waiter.reject(new Error(reply.message));
    });
    const fail = (error: Error) => {
      if (this.failure) return;
      this.failure = error;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
      if (!this.ending) this.onDeath?.(error);
    };
    this.fail = fail;
    // The runtime is gone, not the input wrong: UNAVAILABLE, which callers may retry and the batcher does not bisect.
    worker.on("error", (error) => fail(unavailable(`the session thread failed (${error.message}); retry the request`, error)));
    this.exited = new Promise((resolve) =>
      worker.on("exit", (code) => {
        fail(unavailable(`the session thread ${this.ending ? "was stopped" : `exited (code ${code})`} before it answered; retry the request`));
        resolve();
      }),
    );
    // A session thread never keeps the process alive on its own: the server does.
    worker.unref();
  }

  static async create(model: ModelSource, options: ort.InferenceSession.SessionOptions): Promise<WorkerSession> {
    const inRuntime = new SharedArrayBuffer(4);
    const session = new WorkerSession(new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath, inRuntime } }), inRuntime);
    try {
      const reply = await session.request({ type: "load", model, options });
      session.outputNames = reply.outputNames ?? [];
      return session;
    } catch (error) {
      await session.terminate();
      throw error;
    }
  }

  /** @internal Whether the thread is in (or about to enter) an ONNX Runtime call now (tests). */
  get inRuntimeCall(): boolean {
    return Atomics.load(this.inRuntime, 0) === 1;
  }

  /** False once the thread has died or been stopped. */
  get alive(): boolean {
    return this.failure === undefined;
  }

  /**
   * Runs the session once. `owned`: the caller hands the feeds over and never
   * reads them again, so their buffers move to the session's thread instead of
   * being copied (they are detached here afterwards).
   */
  async run(feeds: Record<string, ort.Tensor>, owned = false): Promise<SessionRun> {
    const { tensors: inputs, transfer } = packTensors(Object.entries(feeds), owned);
    const reply = await this.request({ type: "run", inputs }, transfer);
    const results: Record<string, ort.Tensor> = {};
    for (const t of reply.outputs ?? []) results[t.name] = new ort.Tensor(t.type, t.data as never, t.dims);
    return { results, runUs: reply.runUs ?? Number.NaN, waitedUs: 0 };
  }

  /** Frees the session and ends its thread. Call it when no run is in flight: one still running is cut (UNAVAILABLE). */
  async release(): Promise<void> {
    try {
      if (!this.failure) await this.request({ type: "release" });
    } finally {
      await this.terminate();
    }
  }

  /**
   * Ends the thread, whatever it is doing (a hung run included); what it
   * held is answered UNAVAILABLE. Resolves when the thread has ended, or,
   * for one still inside an ONNX Runtime call after RUNTIME_EXIT_WAIT_MS,
   * once its callers are answered (the thread ends when the call returns).
   */
  async terminate(): Promise<void> {
    this.ending = true;
    await this.endThread();
  }

  /** @internal Test fault: the thread dies as a crash would (onDeath fires). */
  async crash(): Promise<void> {
    await this.endThread();
  }

  /** worker.terminate(), but never while the thread is inside an ONNX Runtime call (see RUNTIME_EXIT_WAIT_MS). */
  private async endThread(): Promise<void> {
    const waitUntil = Date.now() + RUNTIME_EXIT_WAIT_MS;
    while (Atomics.load(this.inRuntime, 0) === 1 && Date.now() < waitUntil) await sleep(RUNTIME_POLL_MS);
    if (Atomics.load(this.inRuntime, 0) === 0) {
      await this.worker.terminate();
      await this.exited;
      return;
    }
    this.fail(unavailable(`the session thread ${this.ending ? "was stopped" : "died"} while its run was still going; retry the request`));
    const poll = setInterval(() => {
      if (Atomics.load(this.inRuntime, 0) === 1) return;
      clearInterval(poll);
      void this.worker.terminate();
    }, 10);
    poll.unref();
  }

  /** @internal Test fault: the thread blocks for good; runs sent to it never answer. */
  hang(): void {
    this.worker.postMessage({ type: "hang", id: 0 });
  }

  private request(message: object, transfer: ArrayBuffer[] = []): Promise<Reply & { ok: true }> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ ...message, id }, transfer);
    });
  }
}
