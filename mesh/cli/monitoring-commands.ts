import { createReadStream } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { basename, extname, resolve } from "node:path";
import { createInterface } from "node:readline";
import { toJson } from "@bufbuild/protobuf";
import { Command, Option } from "commander";
import { AlertState } from "../../libs/gen/tessera/events/v1/monitoring_events_pb.js";
import { GetDriftReportResponseSchema, MonitoringService } from "../../libs/gen/tessera/monitoring/v1/monitoring_pb.js";
import { RegistryService } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { createMeshClient } from "../../libs/host/index.js";
import { csvRowReader, featureSlots, jsonlRowReader, ProfileBuilder, type RowReader } from "../../libs/profiles/index.js";
import { parseAlertRules } from "../../services/monitoring/alerts/alert-rules.js";
import { exportPrometheusRules } from "../../services/monitoring/alerts/export-prometheus-rules.js";
import type { CliIo } from "./cli-io.js";
import { addConnectionOptions, resolveConnection } from "./connection-options.js";
import { formatDriftReport } from "./format-drift.js";
import { addMonitoringOption, monitoringPeer } from "./monitoring-peer.js";
import { parseVersionNumber } from "./parse-count.js";
import { callPeer } from "./peer-error.js";
import { UsageError } from "./usage-error.js";

/** `tessera drift report <model> [--version n]`. */
export function driftCommand(io: CliIo): Command {
  const report = new Command("report")
    .description("test a model version's live inputs and predictions against its reference profile")
    .argument("<model>", "model name")
    .addOption(new Option("--version <n>", "the version (default: the one with the most logs)").argParser(parseVersionNumber))
    .option("--json", "print the report as JSON (the GetDriftReport response)");
  addMonitoringOption(report);
  report.action(async (model: string, options: { version?: number; json?: boolean }, self: Command) => {
    const peer = monitoringPeer(self, io);
    const monitoring = createMeshClient(MonitoringService, { address: peer.address, meshToken: io.env.TESSERA_MESH_TOKEN || undefined });
    try {
      const response = await callPeer(peer, () => monitoring.client.getDriftReport({ model, version: options.version ?? 0 }));
      io.out((options.json ? JSON.stringify(toJson(GetDriftReportResponseSchema, response)) : formatDriftReport(response)) + "\n");
    } finally {
      monitoring.close();
    }
  });
  return new Command("drift").description("drift of live traffic against reference profiles").addCommand(report);
}

/** `tessera profile <model> <version> --from data.csv`: builds and stores a version's reference profile. */
export function profileCommand(io: CliIo): Command {
  const command = new Command("profile")
    .description("build a version's reference profile from training data (CSV with a header, or JSON Lines) and store it in the registry")
    .argument("<model>", "model name")
    .argument("<version>", "version number", parseVersionNumber)
    .requiredOption("--from <file>", "the data: .csv (header names the features: amount, features[3]) or .jsonl")
    .addOption(new Option("--format <format>", "the file's format (default: from its extension)").choices(["csv", "jsonl"]));
  addConnectionOptions(command, { registry: true });
  return command.action(async (model: string, version: number, options: { from: string; format?: "csv" | "jsonl" }, self: Command) => {
    const connection = resolveConnection(self, io);
    const path = resolve(io.cwd, options.from);
    const format = options.format ?? (/\.jsonl?$|\.ndjson$/i.test(extname(path)) ? "jsonl" : extname(path).toLowerCase() === ".csv" ? "csv" : undefined);
    if (!format) throw new UsageError(`cannot tell the format of ${options.from} from its name; add --format csv or --format jsonl`);
    const size = (await stat(path).catch(() => undefined))?.size;
    if (size === undefined) throw new UsageError(`${options.from}: no such file`);
    const registry = createMeshClient(RegistryService, { address: connection.registry.address, defaultTimeoutMs: connection.timeoutMs, meshToken: connection.meshToken });
    try {
      const { modelVersion } = await callPeer(connection.registry, () =>
        registry.client.getModelVersion({ version: { model, selector: { case: "version", value: version } } }),
      );
      const slots = featureSlots(modelVersion!.signature!);
      const file = basename(path);
      let reader: RowReader | undefined;
      let builder: ProfileBuilder | undefined;
      const progress = progressBar(io, size);
      const lines = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
      let lineNumber = 0;
      let bytes = 0;
      for await (const line of lines) {
        lineNumber++;
        bytes += Buffer.byteLength(line) + 1;
        if (!reader) {
          if (line.trim() === "") continue;
          reader = format === "csv" ? csvRowReader(line, slots, file) : jsonlRowReader(line, slots, file);
          builder = new ProfileBuilder(reader.slots, (s) => s.kinds[0]!);
          if (format === "csv") continue; // the header holds no values
        }
        const values = reader.read(line, lineNumber);
        if (values) builder!.add(values, `${file} line ${lineNumber}`);
        if (lineNumber % 1000 === 0) progress(bytes);
      }
      progress(size, true);
      if (!builder || builder.rowCount === 0) throw new UsageError(`${options.from} has no data rows`);
      const profile = builder.finish(file);
      await callPeer(connection.registry, () => registry.client.setReferenceProfile({ model, version, profile }));
      io.out(`stored the reference profile of ${model} version ${version}: ${builder.rowCount} rows, ${profile.features.length} features (${profile.features.map((f) => f.name).join(", ")})\n`);
    } finally {
      registry.close();
    }
  });
}

/** `tessera alerts watch` and `tessera alerts export --rules rules.yaml`. */
export function alertsCommand(io: CliIo): Command {
  const watch = new Command("watch").description("print alerts as they change (active ones first) until Ctrl-C");
  addMonitoringOption(watch);
  watch.action(async (_options: unknown, self: Command) => {
    const peer = monitoringPeer(self, io);
    const monitoring = createMeshClient(MonitoringService, { address: peer.address, defaultTimeoutMs: 2 ** 31 - 1, meshToken: io.env.TESSERA_MESH_TOKEN || undefined });
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once("SIGINT", onSignal);
    try {
      await callPeer(peer, async () => {
        for await (const { alert } of monitoring.client.watchAlerts({}, { signal: stop.signal, timeoutMs: 2 ** 31 - 1 })) {
          if (!alert) continue;
          const labels = Object.entries(alert.labels).map(([k, v]) => `${k}=${v}`).join(",");
          io.out(`${new Date().toISOString()}  ${STATE_NAMES[alert.state]}  ${alert.rule}  {${labels}}  value ${alert.value} (threshold ${alert.threshold})  ${alert.summary}\n`);
        }
      }).catch((error: unknown) => {
        if (!stop.signal.aborted) throw error;
      });
    } finally {
      process.off("SIGINT", onSignal);
      monitoring.close();
    }
  });
  const exportCommand = new Command("export")
    .description("write the equivalent Prometheus rule file of a Tessera alert rules file")
    .requiredOption("--rules <file>", "the alert rules (YAML)")
    .option("--out <file>", "write here instead of standard output");
  exportCommand.action(async (options: { rules: string; out?: string }) => {
    const text = await readFile(resolve(io.cwd, options.rules), "utf8").catch(() => {
      throw new UsageError(`${options.rules}: cannot read it`);
    });
    let rules;
    try {
      rules = parseAlertRules(text, options.rules);
    } catch (error) {
      throw new UsageError(error instanceof Error ? error.message.replace(/^\[\w+\] /, "") : String(error));
    }
    const out = exportPrometheusRules(rules);
    if (options.out) {
      await writeFile(resolve(io.cwd, options.out), out);
      io.err(`wrote ${rules.length} rule${rules.length === 1 ? "" : "s"} to ${options.out}\n`);
    } else io.out(out);
  });
  return new Command("alerts").description("alert rules and the alerts they raise").addCommand(watch).addCommand(exportCommand);
}

const STATE_NAMES: Record<AlertState, string> = {
  [AlertState.UNSPECIFIED]: "?",
  [AlertState.PENDING]: "PENDING ",
  [AlertState.FIRING]: "FIRING  ",
  [AlertState.RESOLVED]: "RESOLVED",
};

/** A one-line bar on stderr, redrawn at most every 2 %: "profiling  42% [########            ]". */
function progressBar(io: CliIo, total: number): (done: number, final?: boolean) => void {
  let shown = -1;
  return (done, final = false) => {
    const percent = total === 0 ? 100 : Math.min(100, Math.floor((done / total) * 100));
    if (!final && percent - shown < 2) return;
    shown = percent;
    const filled = Math.round(percent / 5);
    io.err(`\rprofiling ${String(percent).padStart(3)}% [${"#".repeat(filled)}${" ".repeat(20 - filled)}]${final ? "\n" : ""}`);
  };
}
