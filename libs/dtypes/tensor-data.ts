/** Storage of the fixed-width numeric dtypes. */
export type NumericArray =
  | Float32Array
  | Float64Array
  | Int8Array
  | Int16Array
  | Int32Array
  | BigInt64Array
  | Uint8Array
  | Uint16Array
  | Uint32Array
  | BigUint64Array;

/** Element storage for each dtype (BOOL holds boolean[], STRING string[]). */
export type TensorData = NumericArray | boolean[] | string[];
