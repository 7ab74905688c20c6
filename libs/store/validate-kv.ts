import { invalidArgument } from "../errors/index.js";
import { KV_MAX_VALUE_BYTES } from "./kv-store.js";

const keyPattern = /^[-/_=a-zA-Z0-9]+(\.[-/_=a-zA-Z0-9]+)*$/;

/** Throws INVALID_ARGUMENT unless `key` is a valid KV key (the NATS KV rules, for both adapters). */
export function validateKvKey(key: string): void {
  if (!keyPattern.test(key)) {
    throw invalidArgument(
      `invalid key "${key}": use letters, digits and - / _ = in tokens separated by single dots, with no dot at either end`,
    );
  }
}

/** Throws INVALID_ARGUMENT unless `prefix` can start a valid key ("" for all keys). */
export function validateKvPrefix(prefix: string): void {
  if (prefix === "") return;
  // A prefix may end in a dot ("models.") but is otherwise a key's start.
  const body = prefix.endsWith(".") ? prefix.slice(0, -1) : prefix;
  if (!keyPattern.test(body)) {
    throw invalidArgument(
      `invalid key prefix "${prefix}": use letters, digits and - / _ = in tokens separated by single dots`,
    );
  }
}

/** Throws INVALID_ARGUMENT when a value is too large to store. */
export function validateKvValue(key: string, value: Uint8Array): void {
  if (value.byteLength > KV_MAX_VALUE_BYTES) {
    throw invalidArgument(
      `value for key "${key}" is ${value.byteLength} bytes; the limit is ${KV_MAX_VALUE_BYTES}: put large data in the object store and keep a reference here`,
    );
  }
}

/** Throws INVALID_ARGUMENT unless `revision` is one a store could have returned (a positive whole number). */
export function validateKvRevision(key: string, revision: number): void {
  if (!Number.isSafeInteger(revision) || revision < 1) {
    throw invalidArgument(`expected revision for key "${key}" must be a positive whole number, got ${revision}: pass the revision get() returned`);
  }
}
