/**
 * @internal A plain Uint8Array view of the same bytes. nats.js and node:fs
 * hand out Buffers; callers get the same type from every adapter, so a
 * deep-equality check or a `constructor` test does not depend on which one ran.
 */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
