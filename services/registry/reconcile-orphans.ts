import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Logger } from "../../libs/log/index.js";
import type { RegistryStore } from "./registry-store.js";
import { modelFromKey, versionFromKey } from "./store-keys.js";

export interface ReconcileOptions {
  /**
   * A version record newer than the model's latest_version is left alone
   * this long after its last write: an upload may be between its two writes
   * right now. Default 5 minutes (those writes are milliseconds apart).
   */
  graceMs?: number;
  now?: () => number;
}

/**
 * Removes orphan versions: records above their model's latest_version,
 * written by an upload that stopped (a crash) between storing the version
 * and publishing it. Nothing points at them, and the client was never told
 * they exist. Each is removed only at the revision read, so an upload retry
 * that finishes one meanwhile (it touches the record first) keeps it.
 * Returns what was removed, as "model@version".
 */
export async function reconcileOrphans(store: RegistryStore, logger: Logger, options: ReconcileOptions = {}): Promise<string[]> {
  const graceMs = options.graceMs ?? 5 * 60_000;
  const now = options.now ?? Date.now;
  const removed: string[] = [];
  for (const key of await store.modelKeys()) {
    const name = modelFromKey(key);
    const model = await store.findModel(name);
    if (!model) continue;
    for (const versionKey of await store.versionKeys(name)) {
      const version = versionFromKey(versionKey);
      if (version <= model.value.latestVersion) continue;
      const record = await store.findVersion(name, version);
      if (!record) continue;
      const written = record.value.updateTime ? timestampDate(record.value.updateTime).getTime() : 0;
      if (now() - written < graceMs) continue;
      try {
        await store.removeVersion(name, version, record.revision);
        removed.push(`${name}@${version}`);
        logger.warn("removed an orphan version (its upload stopped before publishing it)", { model: name, version });
      } catch (error) {
        logger.info("an orphan version changed while being reconciled; left alone", { model: name, version, error });
      }
    }
  }
  return removed;
}
