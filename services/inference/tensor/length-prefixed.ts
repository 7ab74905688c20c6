import { invalidArgument } from "../../../libs/errors/index.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/**
 * Decodes the OIP's raw BYTES form: `count` elements, each a 4-byte little-endian length and
 * then that many bytes. Tessera's STRING tensors hold text, so each element must be UTF-8.
 */
export function decodeLengthPrefixed(bytes: Uint8Array, count: number, subject: string): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<string>(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 4 > bytes.byteLength) {
      throw invalidArgument(
        `${subject}: raw BYTES contents end after ${i} of ${count} elements; ` +
          `each element is a 4-byte little-endian length followed by its bytes`,
      );
    }
    const length = view.getUint32(at, true);
    at += 4;
    if (at + length > bytes.byteLength) {
      throw invalidArgument(
        `${subject}: raw BYTES element ${i} declares ${length} bytes but only ${bytes.byteLength - at} remain`,
      );
    }
    out[i] = decodeUtf8(bytes.subarray(at, at + length), i, subject);
    at += length;
  }
  if (at !== bytes.byteLength) {
    throw invalidArgument(
      `${subject}: raw BYTES contents have ${bytes.byteLength - at} bytes left after the ` +
        `${count} element${count === 1 ? "" : "s"} the shape holds; check the shape`,
    );
  }
  return out;
}

/** Encodes strings in the OIP's raw BYTES form (the inverse of decodeLengthPrefixed). */
export function encodeLengthPrefixed(strings: readonly string[]): Uint8Array {
  const parts = strings.map((s) => encoder.encode(s));
  let total = 4 * parts.length;
  for (const p of parts) total += p.byteLength;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const p of parts) {
    view.setUint32(at, p.byteLength, true);
    out.set(p, at + 4);
    at += 4 + p.byteLength;
  }
  return out;
}

/** One BYTES element as text; invalidArgument naming the element when it is not UTF-8. */
export function decodeUtf8(bytes: Uint8Array, index: number, subject: string): string {
  try {
    return utf8.decode(bytes);
  } catch (cause) {
    throw invalidArgument(
      `${subject}: BYTES element ${index} is not valid UTF-8; Tessera's string tensors hold text`,
      cause,
    );
  }
}

/** One string as BYTES element bytes. */
export function encodeUtf8(text: string): Uint8Array {
  return encoder.encode(text);
}
