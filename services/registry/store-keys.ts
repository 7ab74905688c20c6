/**
 * Where registry records live in the metadata KV bucket:
 *   models.<model>                    the Model record (aliases, stages)
 *   versions.<model>.<0000000042>     one ModelVersion record
 *   uploads.<model>.<hash of key>     what an upload's idempotency key created (UploadRecord, JSON)
 * Version numbers are zero-padded so key order is version order.
 */
export const MODEL_PREFIX = "models.";

export function modelKey(model: string): string {
  return `${MODEL_PREFIX}${model}`;
}

export function versionPrefix(model: string): string {
  return `versions.${model}.`;
}

export function versionKey(model: string, version: number): string {
  return `${versionPrefix(model)}${String(version).padStart(10, "0")}`;
}

export function uploadKey(model: string, keyHash: string): string {
  return `uploads.${model}.${keyHash}`;
}

export function versionFromKey(key: string): number {
  return Number(key.slice(key.lastIndexOf(".") + 1));
}

export function modelFromKey(key: string): string {
  return key.slice(MODEL_PREFIX.length);
}

/** Artifacts are content-addressed: one object per distinct sha256. */
export function artifactObjectName(sha256: string): string {
  return `sha256-${sha256}`;
}
