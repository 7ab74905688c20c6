/**
 * `grpc-message` as the gRPC HTTP/2 spec (PROTOCOL-HTTP2.md) writes it:
 * percent-encoded UTF-8, where the bytes 0x20–0x7E other than `%` stay as
 * they are and every other byte becomes `%XX` (upper-case hex).
 */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const byte of new TextEncoder().encode(message)) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/**
 * The message a `grpc-message` value carries. Never throws, as the spec
 * asks: a `%` not followed by two hex digits stays as it is, and bytes that
 * are not UTF-8 become U+FFFD.
 */
export function decodeGrpcMessage(value: string): string {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (let i = 0; i < value.length; i++) {
    if (value[i] === "%" && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
      continue;
    }
    const codePoint = value.codePointAt(i)!;
    const char = String.fromCodePoint(codePoint);
    bytes.push(...encoder.encode(char));
    i += char.length - 1;
  }
  return new TextDecoder("utf-8", { fatal: false }).decode(new Uint8Array(bytes));
}
