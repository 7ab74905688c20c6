import { create } from "@bufbuild/protobuf";
import { invalidArgument } from "../errors/index.js";
import {
  CategoricalProfileSchema,
  FeatureKind,
  FeatureProfileSchema,
  NumericProfileSchema,
  ReferenceProfileSchema,
  type FeatureProfile,
  type ReferenceProfile,
} from "../gen/tessera/registry/v1/profile_pb.js";
import { mulberry32 } from "../onnx/index.js";
import type { FeatureSlot } from "./feature-slots.js";

export interface ProfileBuilderOptions {
  /**
   * Values kept per numeric feature for quantiles and the histogram (a
   * uniform reservoir sample beyond it). Default 100,000: quantiles within
   * about ±0.3 % of rank, in under 1 MB per feature while building.
   */
  reservoirSize?: number;
  /** Quantile points in the stored sketch. Default 200. */
  quantiles?: number;
  /** Histogram bins. Default 30, Evidently's. */
  bins?: number;
  /** Categories kept per feature; the rest are summed under "__other__". Default 1000. */
  maxCategories?: number;
  /** Numeric features with at most this many rows keep every value (for exact KS). Default 1000. */
  exactValues?: number;
  seed?: number;
}

/** The category other categories are counted under once a feature has too many. */
export const OTHER_CATEGORY = "__other__";

/** A row value: a number, a string, a bool, or missing (null/undefined/""). */
export type CellValue = number | string | boolean | null | undefined;

interface NumericAccumulator {
  kind: "numeric";
  slot: FeatureSlot;
  count: number;
  missing: number;
  mean: number;
  m2: number;
  min: number;
  max: number;
  reservoir: number[];
  distinct: Map<number, number> | undefined;
}

interface CategoricalAccumulator {
  kind: "categorical";
  slot: FeatureSlot;
  count: number;
  missing: number;
  counts: Map<string, number>;
}

/**
 * Builds a reference profile one row at a time, in bounded memory: exact
 * count, min, max, mean and std; quantiles and histogram from a reservoir
 * sample; exact category counts up to a limit. A slot is profiled as
 * numeric when its tensor's dtype allows it and every value parses as a
 * number, else categorical — decided by `kindOf`.
 */
export class ProfileBuilder {
  private readonly accumulators: (NumericAccumulator | CategoricalAccumulator)[];
  private readonly options: Required<ProfileBuilderOptions>;
  private readonly random: () => number;
  private rows = 0;

  constructor(slots: readonly FeatureSlot[], kindOf: (slot: FeatureSlot) => FeatureKind, options: ProfileBuilderOptions = {}) {
    this.options = {
      reservoirSize: options.reservoirSize ?? 100_000,
      quantiles: options.quantiles ?? 200,
      bins: options.bins ?? 30,
      maxCategories: options.maxCategories ?? 1000,
      exactValues: options.exactValues ?? 1000,
      seed: options.seed ?? 1,
    };
    this.random = mulberry32(this.options.seed);
    this.accumulators = slots.map((slot) =>
      kindOf(slot) === FeatureKind.NUMERIC
        ? { kind: "numeric", slot, count: 0, missing: 0, mean: 0, m2: 0, min: Infinity, max: -Infinity, reservoir: [], distinct: new Map() }
        : { kind: "categorical", slot, count: 0, missing: 0, counts: new Map() },
    );
  }

  get rowCount(): number {
    return this.rows;
  }

  /** Adds one row: a value per slot, in the slots' order. `where` names the row in errors ("data.csv line 12"). */
  add(values: readonly CellValue[], where: string): void {
    if (values.length !== this.accumulators.length) {
      throw invalidArgument(`${where}: expected ${this.accumulators.length} values, got ${values.length}`);
    }
    this.rows++;
    this.accumulators.forEach((acc, i) => {
      const value = values[i];
      if (value === null || value === undefined || value === "") {
        acc.missing++;
        return;
      }
      if (acc.kind === "categorical") {
        acc.count++;
        const key = String(value);
        if (acc.counts.has(key) || acc.counts.size < this.options.maxCategories) acc.counts.set(key, (acc.counts.get(key) ?? 0) + 1);
        else acc.counts.set(OTHER_CATEGORY, (acc.counts.get(OTHER_CATEGORY) ?? 0) + 1);
        return;
      }
      const x = typeof value === "number" ? value : typeof value === "boolean" ? Number(value) : Number(value.trim());
      if (!Number.isFinite(x)) {
        throw invalidArgument(`${where}: "${acc.slot.name}" is numeric, got ${JSON.stringify(value)}`);
      }
      this.addNumber(acc, x);
    });
  }

  private addNumber(acc: NumericAccumulator, x: number): void {
    acc.count++;
    // Welford's update: stable mean and variance in one pass.
    const delta = x - acc.mean;
    acc.mean += delta / acc.count;
    acc.m2 += delta * (x - acc.mean);
    if (x < acc.min) acc.min = x;
    if (x > acc.max) acc.max = x;
    if (acc.distinct) {
      acc.distinct.set(x, (acc.distinct.get(x) ?? 0) + 1);
      if (acc.distinct.size > 5) acc.distinct = undefined;
    }
    if (acc.reservoir.length < this.options.reservoirSize) acc.reservoir.push(x);
    else {
      // Algorithm R: every value so far is in the sample with equal probability.
      const j = Math.floor(this.random() * acc.count);
      if (j < this.options.reservoirSize) acc.reservoir[j] = x;
    }
  }

  finish(source: string, nowMs = Date.now()): ReferenceProfile {
    const features = this.accumulators.map((acc) => (acc.kind === "numeric" ? this.numericProfile(acc) : categoricalProfile(acc)));
    return create(ReferenceProfileSchema, {
      rowCount: BigInt(this.rows),
      features,
      source,
      createTime: { seconds: BigInt(Math.floor(nowMs / 1000)), nanos: (nowMs % 1000) * 1e6 },
    });
  }

  private numericProfile(acc: NumericAccumulator): FeatureProfile {
    const sorted = Float64Array.from(acc.reservoir).sort();
    const q = this.options.quantiles;
    const quantiles = sorted.length === 0 ? [] : Array.from({ length: q }, (_, i) => quantileOf(sorted, (i + 0.5) / q));
    const { edges, counts } = sorted.length === 0 ? { edges: [], counts: [] } : histogram(sorted, acc.min, acc.max, this.options.bins, acc.count);
    return create(FeatureProfileSchema, {
      name: acc.slot.name,
      kind: FeatureKind.NUMERIC,
      role: acc.slot.role,
      count: BigInt(acc.count),
      missing: BigInt(acc.missing),
      numeric: create(NumericProfileSchema, {
        min: acc.count > 0 ? acc.min : 0,
        max: acc.count > 0 ? acc.max : 0,
        mean: acc.mean,
        std: acc.count > 0 ? Math.sqrt(acc.m2 / acc.count) : 0,
        quantiles,
        histogramEdges: edges,
        histogramCounts: counts.map(BigInt),
        values: acc.count <= this.options.exactValues ? [...acc.reservoir] : [],
        smallDomain: acc.distinct ? Object.fromEntries([...acc.distinct].map(([k, v]) => [String(k), BigInt(v)])) : {},
      }),
    });
  }
}

function categoricalProfile(acc: CategoricalAccumulator): FeatureProfile {
  return create(FeatureProfileSchema, {
    name: acc.slot.name,
    kind: FeatureKind.CATEGORICAL,
    role: acc.slot.role,
    count: BigInt(acc.count),
    missing: BigInt(acc.missing),
    categorical: create(CategoricalProfileSchema, {
      frequencies: Object.fromEntries([...acc.counts].map(([k, v]) => [k, BigInt(v)])),
    }),
  });
}

/** Linear interpolation between order statistics (numpy's default). */
function quantileOf(sorted: Float64Array, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** Equal-width bins over the exact [min, max]; sample counts scaled to the full count. */
function histogram(sorted: Float64Array, min: number, max: number, bins: number, total: number): { edges: number[]; counts: number[] } {
  const lo = min === max ? min - 0.5 : min;
  const hi = min === max ? max + 0.5 : max;
  const step = (hi - lo) / bins;
  const edges = Array.from({ length: bins + 1 }, (_, i) => lo + i * step);
  edges[bins] = hi;
  const counts = new Array<number>(bins).fill(0);
  for (const x of sorted) counts[Math.min(bins - 1, Math.max(0, Math.floor((x - lo) / step)))]!++;
  if (sorted.length === total) return { edges, counts };
  // Scale the sample's counts up, keeping the total exact.
  const scale = total / sorted.length;
  const scaled = counts.map((c) => Math.floor(c * scale));
  let rest = total - scaled.reduce((a, b) => a + b, 0);
  for (let i = 0; rest > 0; i = (i + 1) % bins) {
    if (counts[i]! > 0) {
      scaled[i]!++;
      rest--;
    }
  }
  return { edges, counts: scaled };
}
