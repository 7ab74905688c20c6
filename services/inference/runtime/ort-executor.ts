import type * as ort from "onnxruntime-node";
import { internal, invalidArgument, resourceExhausted, type ConnectError } from "../../../libs/errors/index.js";
import { fromOrtTensor, toOrtTensor, type HostTensor, type TensorMap } from "../tensor/index.js";
import type { Device } from "./device.js";
import { sessionOptionsFor, type SessionTuning } from "./session-options.js";
import { WorkerSession } from "./worker-session.js";

export interface OrtExecutorOptions {
  /** The ONNX model's bytes. */
  readonly model: Uint8Array;
  readonly device: Device;
  readonly tuning: SessionTuning;
  /** Sessions to create: runs that may go on at once. */
  readonly instanceCount: number;
  /** "fraud@3", for messages. */
  readonly label: string;
}

/**
 * Owns the ONNX Runtime sessions of one model version and runs a batch on
 * a free one. Each session holds its own copy of the weights; the batcher
 * above never starts more runs than there are sessions, and a run asked for
 * beyond that waits for one to come free rather than fail.
 *
 * Each session runs on a worker thread (see worker-session.ts), so
 * instance_count sessions run batches at once and the event loop stays free
 * to answer RPCs while a batch runs.
 */
export class OrtExecutor {
  private readonly free: WorkerSession[];
  private readonly waiters: ((session: WorkerSession) => void)[] = [];
  private released = false;

  private constructor(
    private readonly sessions: readonly WorkerSession[],
    private readonly label: string,
  ) {
    this.free = [...sessions];
  }

  static async create(options: OrtExecutorOptions): Promise<OrtExecutor> {
    const sessionOptions = sessionOptionsFor(options.device, options.tuning);
    const sessions: WorkerSession[] = [];
    try {
      // One after another: creating sessions at once only competes for the same cores and memory.
      for (let i = 0; i < options.instanceCount; i++) sessions.push(await WorkerSession.create(options.model, sessionOptions));
    } catch (error) {
      await Promise.allSettled(sessions.map((s) => s.release()));
      throw invalidArgument(`ONNX Runtime cannot load ${options.label}: ${messageOf(error)}`, error);
    }
    return new OrtExecutor(sessions, options.label);
  }

  get instanceCount(): number {
    return this.sessions.length;
  }

  /** Output names in the model's order. */
  get outputNames(): readonly string[] {
    return this.sessions[0]?.outputNames ?? [];
  }

  /**
   * Runs the model once on these inputs; outputs in the model's output order.
   * `owned`: the caller never reads `inputs` again, so their buffers move to
   * the session's thread without a copy (see WorkerSession.run).
   */
  async run(inputs: TensorMap, owned = false): Promise<Map<string, HostTensor>> {
    const session = await this.acquire();
    try {
      const feeds: Record<string, ort.Tensor> = {};
      for (const [name, host] of inputs) feeds[name] = toOrtTensor(host, name);
      let results: Record<string, ort.Tensor>;
      try {
        results = await session.run(feeds, owned);
      } catch (error) {
        throw runError(this.label, error);
      }
      const outputs = new Map<string, HostTensor>();
      for (const name of session.outputNames) {
        const value = results[name];
        if (!value) throw internal(`${this.label}: the run returned no output '${name}'`);
        outputs.set(name, fromOrtTensor(value as ort.Tensor, name));
      }
      return outputs;
    } finally {
      this.give(session);
    }
  }

  /** Frees every session once no run uses it. Runs asked for afterwards fail. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await Promise.allSettled(this.sessions.map((s) => s.release()));
  }

  private acquire(): Promise<WorkerSession> {
    if (this.released) return Promise.reject(internal(`${this.label} was released; its sessions are gone`));
    const session = this.free.pop();
    if (session) return Promise.resolve(session);
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private give(session: WorkerSession): void {
    const next = this.waiters.shift();
    if (next) next(session);
    else this.free.push(session);
  }
}

/**
 * A failed run. Inputs were checked against the signature first, so what
 * remains is mostly data the graph rejects (an index out of range) — the
 * caller's to fix; running out of memory is the replica's.
 */
function runError(label: string, error: unknown): ConnectError {
  const message = messageOf(error);
  if (/out of memory|Failed to allocate|bad_alloc|CUDNN_STATUS_ALLOC|cudaErrorMemoryAllocation/i.test(message)) {
    return resourceExhausted(`${label} ran out of memory on this replica (${message}); send fewer rows per request or retry elsewhere`, error);
  }
  return invalidArgument(`${label} failed on this input: ${message}`, error);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
