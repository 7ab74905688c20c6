import type { Device } from "./device.js";
import type { SessionPlacement } from "./session.js";

/** TESSERA_SESSION_PLACEMENT: where a replica's sessions run; "auto" picks per version. */
export type PlacementSetting = "auto" | SessionPlacement;

export const PLACEMENT_SETTINGS: readonly PlacementSetting[] = ["auto", "thread", "event-loop"];

/**
 * Largest model (its file and the external data beside it) "auto" may load
 * on the event loop. Loading is one synchronous native call that parses and
 * copies the weights, blocking every RPC meanwhile (2 MiB took 64 ms,
 * 0.25 MiB 8.5 ms on the busy dev box); the models fast enough to run there
 * are far below this (fraud: 5 KB).
 */
export const EVENT_LOOP_MAX_MODEL_BYTES = 1024 * 1024;

/**
 * Longest run, µs (median at the largest warm-up batch, timed on the
 * session's thread), that "auto" places on the event loop: about what the
 * hop to a session thread costs the main thread per request (postMessage,
 * structured clone, two wake-ups: 80-110 µs of main-thread time, ~130 µs of
 * process CPU, per one-row fraud run on the dev box; docs/performance.md).
 * Below it a run on the loop costs the main thread less than handing it
 * off; above it the hop is the cheaper of the two, and a long run on the
 * loop would hold up every other call's answer. fraud's one-row run is
 * 20-30 µs on an idle core and 45-55 µs on the saturated dev box.
 */
export const EVENT_LOOP_MAX_RUN_US = 100;

/**
 * Runs an event-loop session is given at once when batching is off (each
 * request its own run). Runs given at once take turns in one loop turn, so
 * the requests that arrived together run back to back and their answers
 * leave in one write; given one at a time, each costs a loop turn and a
 * write of its own (docs/performance.md, "Runs at once on the event loop").
 * The cap bounds how long the loop goes without reading: at most this many
 * runs of under EVENT_LOOP_MAX_RUN_US each, with their answers.
 */
export const EVENT_LOOP_RUNS_AT_ONCE = 16;

/**
 * Runs one session of a version is given at once. With batching on, one:
 * a second run given while the first waits its turn would take requests
 * that should have joined the next batch.
 */
export function runsPerSession(placement: SessionPlacement, batchingEnabled: boolean): number {
  return placement === "event-loop" && !batchingEnabled ? EVENT_LOOP_RUNS_AT_ONCE : 1;
}

/**
 * Runs timed for the choice; their lower quartile is compared. Timing stops
 * early once over three quarters of them are over the bound.
 */
export const PLACEMENT_TIMING_RUNS = 21;

/**
 * Untimed runs first, at most this many and for at most PLACEMENT_WARM_MS:
 * a fresh thread's first runs are slow (its JavaScript not yet compiled,
 * caches cold: for fraud 1 ms, then 50-300 µs, against 22-28 µs after a few
 * hundred runs), and the few warm-up runs do not get it there.
 */
export const PLACEMENT_WARM_RUNS = 200;
export const PLACEMENT_WARM_MS = 20;

export interface PlacementInputs {
  readonly setting: PlacementSetting;
  readonly device: Device;
  /** Sessions of the version. */
  readonly instanceCount: number;
  /** The model file plus its external data; undefined when unknown (treated as too big). */
  readonly modelBytes: number | undefined;
}

export interface PlacementChoice {
  readonly placement: SessionPlacement;
  /** Why, with the numbers: logged at load and shown to operators. */
  readonly reason: string;
  /** The median run timed for the choice, µs; only when "auto" timed runs. */
  readonly runUs?: number;
}

/**
 * The choice as far as it can be made before a run: an explicit setting, or
 * "auto" ruling the event loop out (a GPU, several sessions, a big model).
 * Undefined: "auto" and the model may run on the event loop if it is fast
 * enough; time it (choosePlacement).
 */
export function placementBeforeTiming(inputs: PlacementInputs): PlacementChoice | undefined {
  const { setting, device, instanceCount, modelBytes } = inputs;
  if (setting !== "auto") return { placement: setting, reason: `asked for (TESSERA_SESSION_PLACEMENT=${setting})` };
  if (device.kind !== "cpu") return { placement: "thread", reason: "auto: on a GPU the run waits on the device, so it never blocks the event loop" };
  // Sessions on one loop take turns: more than one would only hold more copies of the weights.
  if (instanceCount > 1) return { placement: "thread", reason: `auto: instance_count ${instanceCount} > 1 runs batches at once, which only threads do` };
  if (modelBytes === undefined || modelBytes > EVENT_LOOP_MAX_MODEL_BYTES) {
    return { placement: "thread", reason: `auto: the model is ${modelBytes === undefined ? "of unknown size" : `${modelBytes} bytes`}, over the ${EVENT_LOOP_MAX_MODEL_BYTES} bytes loaded on the event loop` };
  }
  return undefined;
}

/**
 * The placement of a version: placementBeforeTiming's, or for a small model
 * on the CPU with one session, the event loop when its lower-quartile run
 * (µs, at `rows` rows, timed on its thread) is under EVENT_LOOP_MAX_RUN_US.
 * The lower quartile, not the median: a replica often starts on a busy
 * machine (other replicas, the load already there), and contention only
 * ever adds time, so the quick runs are the ones that say what the model
 * costs (the median put fraud, 35-40 µs idle, over 100 µs on a busy
 * 2-core box).
 */
export function choosePlacement(inputs: PlacementInputs & { readonly runsUs: readonly number[]; readonly rows: number }): PlacementChoice {
  const before = placementBeforeTiming(inputs);
  if (before) return before;
  const runUs = lowerQuartile(inputs.runsUs);
  const timing = `lower-quartile run ${Number.isNaN(runUs) ? "unknown" : `${Math.round(runUs)} µs`} at ${inputs.rows} rows (${inputs.runsUs.length} runs), model ${inputs.modelBytes} bytes`;
  if (runUs < EVENT_LOOP_MAX_RUN_US) return { placement: "event-loop", reason: `auto: ${timing}, under the ${EVENT_LOOP_MAX_RUN_US} µs a hop to a session thread costs`, runUs };
  return { placement: "thread", reason: `auto: ${timing}, not under the ${EVENT_LOOP_MAX_RUN_US} µs that runs on the event loop`, runUs };
}

/** The value a quarter of the way up (nearest rank below, no interpolation), NaN skipped; NaN for none. */
export function lowerQuartile(values: readonly number[]): number {
  const sorted = values.filter((v) => !Number.isNaN(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.floor((sorted.length - 1) / 4)]!;
}
