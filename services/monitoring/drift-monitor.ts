import { Counter, Gauge, type Registry } from "prom-client";
import type { PredictionLog } from "../../libs/gen/tessera/events/v1/prediction_log_pb.js";
import type { ReferenceProfile } from "../../libs/gen/tessera/registry/v1/profile_pb.js";
import { silentLogger, type Logger } from "../../libs/log/index.js";
import { datasetDrift, resolveDriftOptions, type DatasetDrift, type DriftOptions, type ResolvedDriftOptions } from "./drift/index.js";
import { profileReferences, type ProfileReferences } from "./windows/profile-references.js";
import { VersionWindow } from "./windows/version-window.js";

/** Looks a version's reference profile up; undefined when it has none. */
export type ProfileSource = (model: string, version: number) => Promise<ReferenceProfile | undefined>;

export interface DriftReport extends DatasetDrift {
  model: string;
  version: number;
  options: ResolvedDriftOptions;
  window: { logs: number; startMs: number | undefined; endMs: number | undefined };
}

export interface DriftMonitorOptions {
  profiles: ProfileSource;
  /** Values kept per feature and version. Default 10,000. */
  windowSize?: number;
  /** Drift options per model name; "*" for every model without its own. */
  driftOptions?: Readonly<Record<string, DriftOptions>>;
  /** How long a missing profile is remembered before asking the registry again, ms. Default 60 s. */
  profileRetryMs?: number;
  /** Called when a version's verdict turns to drift (dataset or prediction). */
  onDrift?: (report: DriftReport) => void;
  metrics?: Registry;
  logger?: Logger;
  now?: () => number;
}

interface VersionState {
  references?: ProfileReferences;
  window?: VersionWindow;
  checkedAtMs: number;
  drifting: boolean;
  logsWithoutProfile: number;
}

/**
 * Windows of live values per model version, tested against the versions'
 * reference profiles. Logs of a version without a profile are counted and
 * otherwise ignored until one appears.
 */
export class DriftMonitor {
  private readonly states = new Map<string, Promise<VersionState>>();
  /** The last report of each version, for alert rules over drift_share. */
  readonly lastReports = new Map<string, DriftReport>();
  private readonly windowSize: number;
  private readonly profileRetryMs: number;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly optionsByModel = new Map<string, ResolvedDriftOptions>();
  private readonly defaultOptions: ResolvedDriftOptions;
  private readonly gauges?: { share: Gauge<"model" | "version">; feature: Gauge<"model" | "version" | "feature">; logs: Counter<"model" | "version"> };

  constructor(private readonly options: DriftMonitorOptions) {
    this.windowSize = options.windowSize ?? 10_000;
    this.profileRetryMs = options.profileRetryMs ?? 60_000;
    this.logger = options.logger ?? silentLogger;
    this.now = options.now ?? Date.now;
    const all = options.driftOptions ?? {};
    this.defaultOptions = resolveDriftOptions(all["*"]);
    for (const [model, o] of Object.entries(all)) if (model !== "*") this.optionsByModel.set(model, resolveDriftOptions({ ...all["*"], ...o }));
    if (options.metrics) {
      const registers = [options.metrics];
      this.gauges = {
        share: new Gauge({ name: "tessera_monitoring_drift_share", help: "Share of a version's input features that drifted in the last report.", labelNames: ["model", "version"], registers }),
        feature: new Gauge({
          name: "tessera_monitoring_feature_drifted",
          help: "1 when the feature drifted in the last report, else 0.",
          labelNames: ["model", "version", "feature"],
          registers,
        }),
        logs: new Counter({ name: "tessera_monitoring_logs_total", help: "Prediction logs taken into drift windows.", labelNames: ["model", "version"], registers }),
      };
    }
  }

  optionsFor(model: string): ResolvedDriftOptions {
    return this.optionsByModel.get(model) ?? this.defaultOptions;
  }

  /** Takes one log into its version's window (fetching the profile the first time). */
  async ingest(log: PredictionLog, timeMs: number): Promise<void> {
    const state = await this.state(log.model, log.version);
    if (!state.window) {
      state.logsWithoutProfile++;
      return;
    }
    state.window.add(log, timeMs);
    this.gauges?.logs.inc({ model: log.model, version: String(log.version) });
  }

  /** The versions with logs or a profile, for the report loop and GetDriftReport's default. */
  async versions(): Promise<{ model: string; version: number; logs: number; profiled: boolean }[]> {
    const out = [];
    for (const [key, promise] of this.states) {
      const s = await promise;
      const [model, version] = splitKey(key);
      out.push({ model, version, logs: (s.window?.logs ?? 0) + s.logsWithoutProfile, profiled: s.references !== undefined });
    }
    return out;
  }

  /** The report now; undefined when the version has no profile. */
  async report(model: string, version: number): Promise<DriftReport | undefined> {
    const state = await this.state(model, version);
    if (!state.references || !state.window) return undefined;
    return this.evaluate(model, version, state);
  }

  /** Reports every profiled version, updating metrics and firing onDrift on a turn to drift. */
  async evaluateAll(): Promise<DriftReport[]> {
    const reports: DriftReport[] = [];
    for (const { model, version, profiled } of await this.versions()) {
      if (!profiled) continue;
      const report = await this.report(model, version);
      if (report) reports.push(report);
    }
    return reports;
  }

  private evaluate(model: string, version: number, state: VersionState): DriftReport {
    const references = state.references!;
    const window = state.window!;
    const options = this.optionsFor(model);
    const windows = (refs: ProfileReferences["inputs"]) =>
      new Map([...refs.keys()].flatMap((name) => {
        const w = window.window(name);
        return w ? [[name, w] as const] : [];
      }));
    const drift = datasetDrift(
      { references: references.inputs, windows: windows(references.inputs) },
      { references: references.outputs, windows: windows(references.outputs) },
      options,
    );
    const report: DriftReport = { ...drift, model, version, options, window: { logs: window.logs, ...window.span() } };
    const labels = { model, version: String(version) };
    this.gauges?.share.set(labels, drift.driftedShare);
    for (const f of [...drift.features, ...drift.predictions]) this.gauges?.feature.set({ ...labels, feature: f.feature }, f.drifted ? 1 : 0);
    const drifting = drift.datasetDrift || drift.predictionDrift;
    if (drifting && !state.drifting) {
      try {
        this.options.onDrift?.(report);
      } catch (error) {
        this.logger.warn("a drift listener failed", { model, version, error });
      }
    }
    state.drifting = drifting;
    this.lastReports.set(`${model}@${version}`, report);
    return report;
  }

  private state(model: string, version: number): Promise<VersionState> {
    const key = `${model}@${version}`;
    const known = this.states.get(key);
    if (known) {
      return known.then((s) => (s.references || this.now() - s.checkedAtMs < this.profileRetryMs ? s : this.refresh(key, model, version, s)));
    }
    const created = this.load(model, version, { checkedAtMs: 0, drifting: false, logsWithoutProfile: 0 });
    this.states.set(key, created);
    return created;
  }

  private refresh(key: string, model: string, version: number, previous: VersionState): Promise<VersionState> {
    previous.checkedAtMs = this.now(); // one refresh at a time
    const next = this.load(model, version, previous);
    this.states.set(key, next);
    return next;
  }

  private async load(model: string, version: number, state: VersionState): Promise<VersionState> {
    state.checkedAtMs = this.now();
    try {
      const profile = await this.options.profiles(model, version);
      if (profile) {
        state.references = profileReferences(profile);
        state.window = new VersionWindow(this.windowSize, state.references.locations);
      }
    } catch (error) {
      this.logger.warn("could not read a reference profile; will retry", { model, version, error });
    }
    return state;
  }
}

function splitKey(key: string): [string, number] {
  const at = key.lastIndexOf("@");
  return [key.slice(0, at), Number(key.slice(at + 1))];
}
