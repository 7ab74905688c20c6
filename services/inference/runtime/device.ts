/** Where a replica runs its models: the CPU, or one CUDA GPU by index. */
export type Device = { readonly kind: "cpu" } | { readonly kind: "cuda"; readonly index: number };

const CUDA = /^cuda(?::(\d{1,3}))?$/;

/**
 * Parses "cpu", "cuda:N" or "cuda" (meaning cuda:0, as in PyTorch). Throws a
 * RangeError naming the accepted forms otherwise.
 */
export function parseDevice(text: string): Device {
  const value = text.trim().toLowerCase();
  if (value === "cpu") return { kind: "cpu" };
  const match = CUDA.exec(value);
  if (match) return { kind: "cuda", index: Number(match[1] ?? "0") };
  throw new RangeError(`"${text}" is not a device; use "cpu" or "cuda:N" (N the GPU index, e.g. "cuda:0")`);
}

/** "cpu" or "cuda:N", as ServedModel.device and ReplicaRecord.device carry it. */
export function formatDevice(device: Device): string {
  return device.kind === "cpu" ? "cpu" : `cuda:${device.index}`;
}
