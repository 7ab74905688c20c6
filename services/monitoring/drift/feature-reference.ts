/**
 * What drift detection needs to know about one feature's reference data,
 * read from its stored profile.
 */
export type FeatureReference = NumericReference | CategoricalReference;

export interface NumericReference {
  kind: "numeric";
  /** Rows the reference was built from. */
  count: number;
  /** Population standard deviation, to normalize the Wasserstein distance as Evidently does. */
  std: number;
  /**
   * Every reference value when the reference was small enough to keep them
   * (`exact`), otherwise evenly spaced quantiles standing in for them.
   */
  values: readonly number[];
  exact: boolean;
  /** Histogram of the reference: bin edges (one more than counts) and counts. */
  histogramEdges: readonly number[];
  histogramCounts: readonly number[];
  /** Counts by value when the feature took at most five distinct values; tested as categorical then. */
  frequencies?: ReadonlyMap<string, number>;
}

export interface CategoricalReference {
  kind: "categorical";
  count: number;
  frequencies: ReadonlyMap<string, number>;
}

/** The live values of one feature in the current window. */
export type FeatureWindow =
  | { kind: "numeric"; values: readonly number[] }
  | { kind: "categorical"; values: readonly string[] };
