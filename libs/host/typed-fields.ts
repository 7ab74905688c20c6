import { ScalarType, type DescField, type DescMessage } from "@bufbuild/protobuf";
import { messageFactory } from "../messages/index.js";

/**
 * Repeated numeric fields the gRPC port decodes straight into typed arrays
 * and encodes from them in one copy (typed-fields-decode.ts,
 * typed-fields-encode.ts), instead of protobuf-es's number[] / bigint[]
 * and its per-element reader and writer. A service passes the fields it
 * wants (its tensors' values); every other field goes through protobuf-es.
 *
 * A decoded planned field holds the typed array of its kind, although the
 * generated type says number[] or bigint[]: whoever reads such a field must
 * take both (the HTTP port, JSON and other decoders still give arrays).
 */
export type TypedFieldPlan = readonly DescField[];

/** The typed array each kind of planned field decodes into. */
export type TypedFieldKind = "float" | "double" | "int32" | "uint32" | "int64" | "uint64";

export interface TypedFieldsOptions {
  /**
   * Whether this host is little-endian, as the wire is: then float and
   * double values move in one byte copy and 64-bit integers are written as
   * two 32-bit halves; otherwise element by element through a DataView.
   * Default: os.endianness(). Tests set false to exercise the portable path.
   */
  readonly littleEndian?: boolean;
  /**
   * Messages shorter than this many bytes are decoded by protobuf-es alone
   * (plain arrays), and planned fields with fewer elements than
   * `minTypedElements` are left to its writer. Default 256 bytes and 32
   * elements, because below that walking the message twice costs more than
   * the per-element work it saves (a one-row, 16-float Predict: measured
   * slower). Tests set 0 to exercise the typed path on every message.
   */
  readonly minTypedBytes?: number;
  readonly minTypedElements?: number;
}

export const DEFAULT_MIN_TYPED_BYTES = 256;
export const DEFAULT_MIN_TYPED_ELEMENTS = 32;

/** @internal A planned field of a message, by field number. */
export interface TypedField {
  readonly field: DescField;
  readonly localName: string;
  readonly kind: TypedFieldKind;
  /** The wire type of one unpacked element: 0 varint, 1 64-bit, 5 32-bit. */
  readonly elementWireType: 0 | 1 | 5;
}

/** @internal A message field whose message holds planned fields (directly or further down). */
export interface ChildField {
  readonly localName: string;
  readonly repeated: boolean;
  readonly node: PlanNode;
}

/** @internal What the codec does with one message type. */
export interface PlanNode {
  readonly schema: DescMessage;
  /** A new zero message of the schema, from its factory (libs/messages: cheaper than create()). */
  readonly zero: () => Record<string, unknown>;
  readonly typed: ReadonlyMap<number, TypedField>;
  readonly children: ReadonlyMap<number, ChildField>;
}

const KINDS: Partial<Record<ScalarType, [TypedFieldKind, 0 | 1 | 5]>> = {
  [ScalarType.FLOAT]: ["float", 5],
  [ScalarType.DOUBLE]: ["double", 1],
  [ScalarType.INT32]: ["int32", 0],
  [ScalarType.UINT32]: ["uint32", 0],
  [ScalarType.INT64]: ["int64", 0],
  [ScalarType.UINT64]: ["uint64", 0],
};

/**
 * The plan for one root message (a method's input or output), or undefined
 * when no planned field can be reached from it (protobuf-es alone then).
 * Throws, naming the field, for a field the codec cannot hold in a typed
 * array. Oneof and map members are left to protobuf-es.
 */
export function compilePlan(root: DescMessage, plan: TypedFieldPlan): PlanNode | undefined {
  const byMessage = new Map<string, TypedField[]>();
  for (const field of plan) {
    const kind = field.fieldKind === "list" && field.listKind === "scalar" && !field.longAsString ? KINDS[field.scalar] : undefined;
    if (kind === undefined) {
      throw new Error(`typed field ${field.toString()} must be a repeated float, double, int32, uint32, int64 or uint64 field (64-bit ones as bigint)`);
    }
    const list = byMessage.get(field.parent.typeName) ?? [];
    list.push({ field, localName: field.localName, kind: kind[0], elementWireType: kind[1] });
    byMessage.set(field.parent.typeName, list);
  }
  const nodes = new Map<string, PlanNode | null>();
  const build = (schema: DescMessage): PlanNode | undefined => {
    const known = nodes.get(schema.typeName);
    // null: being built further up (a recursive type) or leads nowhere.
    if (known !== undefined) return known ?? undefined;
    nodes.set(schema.typeName, null);
    const typed = new Map((byMessage.get(schema.typeName) ?? []).map((t) => [t.field.number, t]));
    const children = new Map<number, ChildField>();
    for (const field of schema.fields) {
      if (field.oneof !== undefined || ("delimitedEncoding" in field && field.delimitedEncoding)) continue;
      const child = field.fieldKind === "message" || (field.fieldKind === "list" && field.listKind === "message") ? field.message : undefined;
      const node = child && build(child);
      if (node) children.set(field.number, { localName: field.localName, repeated: field.fieldKind === "list", node });
    }
    if (typed.size === 0 && children.size === 0) return undefined;
    const node = { schema, zero: messageFactory(schema) as () => Record<string, unknown>, typed, children };
    nodes.set(schema.typeName, node);
    return node;
  };
  return build(root);
}
