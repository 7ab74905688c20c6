/** The top-level fields the router needs from a request, read without decoding the message. */
export interface PeekedFields {
  /** Field 1 as a string (PredictRequest.model, ModelInferRequest.model_name). */
  model: string;
  /** Field 2: a varint (PredictRequest.version) or a string (ModelInferRequest.model_version), as text. */
  version: string;
  /** Field 3 as a string, when `aliasField` is asked for (PredictRequest.alias). */
  alias: string;
}

const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Scans the top level of a protobuf message for fields 1-3, skipping the
 * rest (tensors are length-delimited, so skipping them costs one varint
 * read each). Last occurrence wins, as protobuf says. Throws on bytes that
 * are not a protobuf message.
 */
export function peekFields(bytes: Uint8Array, versionKind: "varint" | "string"): PeekedFields {
  const found: PeekedFields = { model: "", version: "", alias: "" };
  let pos = 0;
  const varint = (): number => {
    let result = 0;
    let shift = 0;
    for (;;) {
      if (pos >= bytes.length) throw new Error("truncated varint");
      const byte = bytes[pos++]!;
      // Numbers past 2^53 lose precision, which is fine for lengths and versions.
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7;
      if (shift > 63) throw new Error("varint too long");
    }
  };
  while (pos < bytes.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (field === 0) throw new Error("field number 0");
    switch (wire) {
      case 0: {
        const value = varint();
        if (field === 2 && versionKind === "varint") found.version = value === 0 ? "" : String(value);
        break;
      }
      case 1:
        pos += 8;
        break;
      case 2: {
        const length = varint();
        if (pos + length > bytes.length) throw new Error("length past the end");
        if (field <= 3) {
          const text = decoder.decode(bytes.subarray(pos, pos + length));
          if (field === 1) found.model = text;
          else if (field === 2 && versionKind === "string") found.version = text;
          else if (field === 3) found.alias = text;
        }
        pos += length;
        break;
      }
      case 5:
        pos += 4;
        break;
      default:
        throw new Error(`wire type ${wire}`);
    }
    if (pos > bytes.length) throw new Error("field past the end");
  }
  return found;
}

/**
 * Bytes that, appended to a serialized request, set its version to
 * `version` and clear its alias: a later occurrence of a scalar field
 * overrides an earlier one, so the router can redirect a request without
 * re-encoding it. PredictRequest: version (2, varint) and alias (3, "").
 * ModelInferRequest: model_version (2, string).
 */
export function versionSuffix(version: number, versionKind: "varint" | "string"): Uint8Array {
  if (versionKind === "string") {
    const text = new TextEncoder().encode(String(version));
    return Uint8Array.from([0x12, text.length, ...text]);
  }
  const out = [0x10];
  let v = version;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v, 0x1a, 0x00);
  return Uint8Array.from(out);
}
