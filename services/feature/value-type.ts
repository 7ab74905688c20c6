import { ValueType } from "../../libs/gen/tessera/feature/v1/feature_pb.js";

const names: Record<ValueType, string> = {
  [ValueType.UNSPECIFIED]: "unspecified",
  [ValueType.FLOAT]: "float",
  [ValueType.DOUBLE]: "double",
  [ValueType.INT32]: "int32",
  [ValueType.INT64]: "int64",
  [ValueType.BOOL]: "bool",
  [ValueType.STRING]: "string",
  [ValueType.FLOAT_VECTOR]: "float_vector",
};

/** The short name people write in definitions files: "float", "int64", "float_vector". */
export function valueTypeName(type: ValueType, vectorLength = 0): string {
  return type === ValueType.FLOAT_VECTOR ? `float_vector[${vectorLength}]` : (names[type] ?? `type ${type}`);
}

/** Parses a short type name ("double", "float_vector"); undefined when unknown. */
export function parseValueType(name: string): ValueType | undefined {
  const normalized = name.trim().toLowerCase().replace(/^value_type_/, "");
  for (const [type, short] of Object.entries(names)) {
    if (short === normalized && Number(type) !== ValueType.UNSPECIFIED) return Number(type) as ValueType;
  }
  return undefined;
}
