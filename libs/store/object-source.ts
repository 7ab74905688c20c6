import type { ObjectSource } from "./object-store.js";

/** @internal Reads an ObjectSource as chunks, whichever form it came in. */
export async function* chunksOf(source: ObjectSource): AsyncIterable<Uint8Array> {
  if (source instanceof Uint8Array) {
    if (source.byteLength > 0) yield source;
    return;
  }
  yield* source;
}
