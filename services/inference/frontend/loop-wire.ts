import { Code, ConnectError } from "@connectrpc/connect";
import { errorFromTrailers, GRPC_MESSAGE, GRPC_STATUS, GRPC_STATUS_DETAILS_BIN, setErrorTrailers } from "../../../libs/host/grpc-trailers.js";

/**
 * What crosses between a front-end loop (a worker thread) and the replica's
 * main thread (front-end-loops.ts, loop-worker.ts). Requests and responses
 * are protobuf-es messages, which are plain objects: structured clone
 * carries them whole, and their bytes fields move in the transfer list.
 */

/** [name, value] pairs of a Headers (structured clone drops a Headers' contents). */
export type HeaderPairs = [string, string][];

/** Loop → main. `deadline`: the call's, in Date.now() ms (one clock for the whole process). */
export type LoopToMain =
  | { type: "listening"; port: number }
  | { type: "listen-failed"; message: string; code?: string }
  | { type: "call"; id: number; service: string; method: string; request: unknown; deadline: number | undefined; header: HeaderPairs }
  | { type: "cancel"; id: number }
  | { type: "drained" }
  | { type: "metrics"; ask: number; metrics: unknown[] };

/** Main → loop. */
export type MainToLoop =
  | { type: "answer"; id: number; response: unknown; header: HeaderPairs; trailer: HeaderPairs }
  | { type: "fail"; id: number; error: WireError; header: HeaderPairs; trailer: HeaderPairs }
  | { type: "serving"; serving: boolean }
  | { type: "drain" }
  | { type: "force" }
  | { type: "metrics"; ask: number }
  /** Test fault: the loop throws from its event loop, as a bug would. */
  | { type: "crash" };

/** What the loop starts with (workerData). */
export interface LoopInit {
  readonly index: number;
  readonly host: string;
  readonly port: number;
  readonly serving: boolean;
  readonly maxMessageBytes: number;
  readonly meshToken: string | undefined;
  readonly logLevel: "debug" | "info" | "warn" | "error";
  readonly replicaId: string;
  /** Per service type name, the methods (local names) the main thread implements. */
  readonly methods: Readonly<Record<string, readonly string[]>>;
}

/** A ConnectError as the gRPC trailers carry it: code, message, metadata and details (grpc-status-details-bin). */
export interface WireError {
  readonly code: Code;
  readonly message: string;
  readonly metadata: HeaderPairs;
  readonly detailsBin?: string;
}

export function errorToWire(reason: unknown): WireError {
  const error = ConnectError.from(reason);
  const details = error.details.length > 0 ? setErrorTrailers(new Headers(), error).get(GRPC_STATUS_DETAILS_BIN) : null;
  return { code: error.code, message: error.rawMessage, metadata: headerPairs(error.metadata), ...(details ? { detailsBin: details } : {}) };
}

/** The same error again, on the loop's side: the gRPC port answers it as the main thread would have. */
export function errorFromWire(wire: WireError): ConnectError {
  const error = new ConnectError(wire.message, wire.code, new Headers(wire.metadata));
  if (wire.detailsBin) {
    const trailer = new Headers({ [GRPC_STATUS]: String(wire.code), [GRPC_MESSAGE]: "", [GRPC_STATUS_DETAILS_BIN]: wire.detailsBin });
    error.details = errorFromTrailers(trailer)?.details ?? [];
  }
  return error;
}

export function headerPairs(headers: Headers): HeaderPairs {
  const pairs: HeaderPairs = [];
  headers.forEach((value, key) => pairs.push([key, value]));
  return pairs;
}

/**
 * Replaces every byte array and typed array inside `value` (a protobuf-es
 * message: bytes fields, and tensor values held as typed arrays, see
 * tensor/tensor-values.ts) with a copy of its own bytes and returns those
 * copies' buffers, for postMessage's transfer list. A decoded bytes field
 * is a view into the whole received frame (or a pooled Buffer), and an
 * output's values a view of its batch's, shared with other requests:
 * structured clone would copy that whole buffer per field, and transferring
 * it would take it from its other users. The copy is exactly the field's
 * bytes, once; then it moves.
 */
export function detachBytes(value: unknown, options: DetachOptions = {}): ArrayBuffer[] {
  return detach(value, [], options.ownedValues === true);
}

export interface DetachOptions {
  /**
   * The message's typed arrays other than bytes own their whole buffer and
   * nothing else holds them (a request the loop's decoder just made, see
   * tensor/tensor-values.ts): such an array moves as it is, without a copy.
   * Never for a response: an output may be its batch's whole buffer, which
   * the main thread still reads (prediction logs).
   */
  readonly ownedValues?: boolean;
}

function detach(value: unknown, transfer: ArrayBuffer[], owned: boolean): ArrayBuffer[] {
  if (typeof value !== "object" || value === null) return transfer;
  if (Array.isArray(value)) {
    // Numbers, strings, bigints: nothing to detach (float_data and friends stay cheap to walk).
    if (value.length === 0 || typeof value[0] !== "object") return transfer;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      if (ArrayBuffer.isView(item)) value[i] = ownCopy(item as TypedArray, transfer, owned);
      else detach(item, transfer, owned);
    }
    return transfer;
  }
  if (ArrayBuffer.isView(value)) return transfer;
  const record = value as Record<string, unknown>;
  for (const key in record) {
    const item = record[key];
    if (ArrayBuffer.isView(item)) record[key] = ownCopy(item as TypedArray, transfer, owned);
    else if (typeof item === "object" && item !== null) detach(item, transfer, owned);
  }
  return transfer;
}

type TypedArray = Uint8Array | Float32Array | Float64Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

function ownCopy(array: TypedArray, transfer: ArrayBuffer[], owned: boolean): TypedArray {
  const whole = array.byteOffset === 0 && array.byteLength === array.buffer.byteLength && array.buffer instanceof ArrayBuffer;
  if (owned && whole && !(array instanceof Uint8Array) && !transfer.includes(array.buffer)) {
    if (array.byteLength > 0) transfer.push(array.buffer);
    return array;
  }
  // A copy of the same type; a Buffer (whose slice is a view) comes back a plain Uint8Array, as before.
  const copy = array instanceof Uint8Array ? new Uint8Array(array) : (array as Float32Array).slice();
  if (copy.byteLength > 0) transfer.push(copy.buffer as ArrayBuffer);
  return copy;
}

/** The error a call gets when its loop or the main thread can no longer answer it. */
export function loopGone(what: string): ConnectError {
  return new ConnectError(`${what}; retry the call (the replica replaces a front-end loop that dies)`, Code.Unavailable);
}
