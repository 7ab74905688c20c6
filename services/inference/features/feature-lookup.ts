import type { Client } from "@connectrpc/connect";
import type { FeatureColumn, FeatureService, FeatureView } from "../../../libs/gen/tessera/feature/v1/feature_pb.js";

export type FeatureClient = Client<typeof FeatureService>;

interface Waiter {
  start: number;
  count: number;
  resolve(columns: FeatureColumn[]): void;
  reject(error: unknown): void;
}

interface Pending {
  refs: readonly string[];
  keys: string[];
  waiters: Waiter[];
}

export interface FeatureLookupOptions {
  /** Deadline of each GetOnlineFeatures. Default 1000 ms: features are on the request path. */
  timeoutMs?: number;
  /** Most entity keys in one call; a fuller batch is sent at once. Default 1000. */
  maxKeys?: number;
}

/**
 * A small batching collector in front of the feature service: lookups
 * made in the same turn of the event loop for the same features are sent
 * as ONE GetOnlineFeatures, and each caller gets its own rows back. Under
 * load many Predicts arrive per turn, so the feature hop is paid per
 * batch, not per request.
 */
export class FeatureLookup {
  private readonly pending = new Map<string, Pending>();
  private readonly views = new Map<string, Promise<FeatureView>>();
  private readonly timeoutMs: number;
  private readonly maxKeys: number;
  /** GetOnlineFeatures calls sent (for tests and metrics). */
  calls = 0;

  constructor(
    private readonly client: FeatureClient,
    options: FeatureLookupOptions = {},
  ) {
    this.timeoutMs = options.timeoutMs ?? 1000;
    this.maxKeys = options.maxKeys ?? 1000;
  }

  /** Columns for `keys` (in order), one per ref. */
  read(refs: readonly string[], keys: readonly string[]): Promise<FeatureColumn[]> {
    const id = refs.join("\u0000");
    let batch = this.pending.get(id);
    if (!batch) {
      batch = { refs, keys: [], waiters: [] };
      this.pending.set(id, batch);
      const scheduled = batch;
      setImmediate(() => this.flush(id, scheduled));
    }
    const waiter = new Promise<FeatureColumn[]>((resolve, reject) => {
      batch.waiters.push({ start: batch.keys.length, count: keys.length, resolve, reject });
    });
    batch.keys.push(...keys);
    if (batch.keys.length >= this.maxKeys) this.flush(id, batch);
    return waiter;
  }

  /** A view's definition, fetched once and kept (types and vector lengths do not change in place). */
  view(name: string): Promise<FeatureView> {
    let found = this.views.get(name);
    if (!found) {
      found = this.client.describeFeatureView({ name }, { timeoutMs: this.timeoutMs }).then((r) => r.featureView!);
      // A failure is not kept: the next call asks again.
      found.catch(() => this.views.delete(name));
      this.views.set(name, found);
    }
    return found;
  }

  private flush(id: string, batch: Pending): void {
    if (this.pending.get(id) !== batch) return;
    this.pending.delete(id);
    this.calls++;
    this.client.getOnlineFeatures({ features: [...batch.refs], entityKeys: batch.keys }, { timeoutMs: this.timeoutMs }).then(
      (response) => {
        for (const waiter of batch.waiters) {
          waiter.resolve(
            response.columns.map((column) => ({
              ...column,
              values: column.values.slice(waiter.start, waiter.start + waiter.count),
              statuses: column.statuses.slice(waiter.start, waiter.start + waiter.count),
              eventTimes: column.eventTimes.slice(waiter.start, waiter.start + waiter.count),
            })),
          );
        }
      },
      (error: unknown) => batch.waiters.forEach((waiter) => waiter.reject(error)),
    );
  }
}
