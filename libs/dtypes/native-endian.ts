import { endianness } from "node:os";

/** Whether this host stores typed-array elements little-endian, as protobuf's and ONNX's wire formats do: then they move as bytes. */
export const NATIVE_LITTLE_ENDIAN = endianness() === "LE";
