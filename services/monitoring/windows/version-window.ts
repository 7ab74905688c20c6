import type { LoggedTensor, PredictionLog } from "../../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import type { FeatureWindow } from "../drift/index.js";
import { RingBuffer } from "./ring-buffer.js";

/** Where a feature's values sit in a log: which tensor, which column. */
export interface FeatureLocation {
  tensor: string;
  column: number;
  role: "input" | "output";
  kind: "numeric" | "categorical";
}

/** "features[3]" → tensor "features", column 3; "score" → tensor "score", column 0. */
export function parseFeatureName(name: string): { tensor: string; column: number } {
  const match = /^(.*)\[(\d+)\]$/.exec(name);
  return match ? { tensor: match[1]!, column: Number(match[2]) } : { tensor: name, column: 0 };
}

/**
 * The sliding window of one model version: the last `capacity` values of
 * each profiled feature, from the logs' input and output tensors. Memory is
 * fixed by capacity × features, however fast logs arrive.
 */
export class VersionWindow {
  private readonly numbers = new Map<string, RingBuffer<number>>();
  private readonly strings = new Map<string, RingBuffer<string>>();
  private firstTimeMs: number | undefined;
  private lastTimeMs: number | undefined;
  logs = 0;

  constructor(
    readonly capacity: number,
    private readonly features: ReadonlyMap<string, FeatureLocation>,
  ) {
    for (const [name, at] of features) {
      if (at.kind === "numeric") this.numbers.set(name, new RingBuffer(capacity));
      else this.strings.set(name, new RingBuffer(capacity));
    }
  }

  /** Adds a log's rows. Tensors the profile does not know are ignored; returns the values taken. */
  add(log: PredictionLog, timeMs: number): number {
    this.logs++;
    this.firstTimeMs ??= timeMs;
    this.lastTimeMs = timeMs;
    const tensors = new Map<string, LoggedTensor>();
    for (const t of log.inputs) tensors.set(`input:${t.name}`, t);
    for (const t of log.outputs) tensors.set(`output:${t.name}`, t);
    let taken = 0;
    for (const [name, at] of this.features) {
      const t = tensors.get(`${at.role}:${at.tensor}`);
      if (!t) continue;
      const keptRows = Math.max(0, Number(t.shape[0] ?? 1n) - t.rowsOmitted);
      const values = at.kind === "numeric" ? t.numbers : t.strings.length > 0 ? t.strings : t.numbers;
      if (keptRows === 0 || values.length === 0) continue;
      const width = values.length / keptRows;
      if (!Number.isInteger(width) || at.column >= width) continue;
      for (let r = 0; r < keptRows; r++) {
        const v = values[r * width + at.column]!;
        if (at.kind === "numeric") {
          if (typeof v === "number" && Number.isFinite(v)) this.numbers.get(name)!.push(v);
        } else this.strings.get(name)!.push(String(v));
        taken++;
      }
    }
    return taken;
  }

  window(feature: string): FeatureWindow | undefined {
    const n = this.numbers.get(feature);
    if (n) return { kind: "numeric", values: n.values() };
    const s = this.strings.get(feature);
    if (s) return { kind: "categorical", values: s.values() };
    return undefined;
  }

  span(): { startMs: number | undefined; endMs: number | undefined } {
    return { startMs: this.firstTimeMs, endMs: this.lastTimeMs };
  }
}
