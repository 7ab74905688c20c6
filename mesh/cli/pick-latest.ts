import type { FeatureValue } from "../../libs/gen/tessera/feature/v1/feature_pb.js";

/** One source row, parsed. */
export interface SourceRow {
  entityKey: string;
  eventTimeMs: number;
  values: Record<string, FeatureValue>;
}

/**
 * Point-in-time selection for materialization: per entity, the row with
 * the latest event time in [startMs, endMs]. Rows after the end are what
 * the online store would not yet have known, so they never win; rows
 * before the start are outside the window asked for. On equal times the
 * later row in the file wins, as a later write would.
 */
export class LatestPerEntity {
  private readonly latest = new Map<string, SourceRow>();
  afterEnd = 0;
  beforeStart = 0;

  constructor(
    private readonly startMs: number,
    private readonly endMs: number,
  ) {}

  offer(row: SourceRow): void {
    if (row.eventTimeMs > this.endMs) {
      this.afterEnd++;
      return;
    }
    if (row.eventTimeMs < this.startMs) {
      this.beforeStart++;
      return;
    }
    const held = this.latest.get(row.entityKey);
    if (!held || held.eventTimeMs <= row.eventTimeMs) this.latest.set(row.entityKey, row);
  }

  rows(): SourceRow[] {
    return [...this.latest.values()];
  }
}
