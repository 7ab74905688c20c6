import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { timestampFromMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { Command, InvalidArgumentError, Option } from "commander";
import { fromFeatureValue, toFeatureValue } from "../../libs/feature-client/index.js";
import { ApplyAction, FeatureService, FeatureStatus, ValueType, type FeatureView } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import { createMeshClient, type MeshClient } from "../../libs/host/index.js";
import type { CliIo } from "./cli-io.js";
import { formatTable } from "./format-table.js";
import { materializeFile } from "./materialize-file.js";
import { parseAddress } from "./parse-address.js";
import { parseDefinitions } from "./parse-definitions.js";
import { callPeer, type Peer } from "./peer-error.js";
import { ProgressReporter } from "./progress-reporter.js";
import { collectList } from "./parse-tag.js";
import { UsageError } from "./usage-error.js";

export const DEFAULT_FEATURE_ADDRESS = "127.0.0.1:50052";
type FeatureClient = MeshClient<typeof FeatureService>["client"];

/** `tessera features ...`: definitions and online values of the feature service. */
export function featuresCommand(io: CliIo): Command {
  const features = new Command("features").description("the feature service: apply definitions, list them, read and write online values, materialize files");
  const withOptions = (command: Command) =>
    command
      .addOption(new Option("--feature <host:port>", `feature service gRPC address (env TESSERA_FEATURE_ADDRESS, default ${DEFAULT_FEATURE_ADDRESS})`).argParser(parseAddress))
      .addOption(new Option("--timeout <ms>", "deadline of each call in milliseconds (default 10000)").argParser(parseMs));

  withOptions(
    features
      .command("apply")
      .description("validate and store the entities and feature views of a YAML file; prints what was created, updated or unchanged")
      .argument("<defs.yaml>", "definitions file")
      .option("--dry-run", "check and report only; store nothing"),
  ).action(async (file: string, options: { dryRun?: boolean }, command: Command) => {
    const path = resolve(io.cwd, file);
    const text = await readFile(path, "utf8").catch((error: NodeJS.ErrnoException) => {
      throw new UsageError(`cannot read ${file}: ${error.code === "ENOENT" ? "no such file" : error.message}`);
    });
    const request = parseDefinitions(text, file);
    await withFeature(command, io, async (client, peer, timeoutMs) => {
      const response = await callPeer(peer, () => client.applyDefinitions({ ...request, dryRun: options.dryRun ?? false }, { timeoutMs }));
      const rows = response.applied.map((a) => [a.kind.replace("_", " "), a.name, `v${a.version}`, actionName(a.action)]);
      io.out(formatTable(["KIND", "NAME", "VERSION", options.dryRun ? "WOULD BE" : "ACTION"], rows) + "\n");
    });
  });

  withOptions(features.command("ls").alias("list").description("list entities and feature views")).action(async (_options: object, command: Command) => {
    await withFeature(command, io, async (client, peer, timeoutMs) => {
      const [{ entities }, { featureViews }] = await Promise.all([
        callPeer(peer, () => client.listEntities({}, { timeoutMs })),
        callPeer(peer, () => client.listFeatureViews({}, { timeoutMs })),
      ]);
      io.out(formatTable(["ENTITY", "JOIN KEY", "KEY TYPE", "VERSION", "OWNER"], entities.map((e) => [e.name, e.joinKey, typeName(e.valueType, 0), `v${e.version}`, e.owner || "-"])) + "\n\n");
      io.out(
        formatTable(
          ["VIEW", "ENTITY", "VERSION", "FEATURES", "MAX AGE", "TTL", "PUSH", "OWNER"],
          featureViews.map((v) => [
            v.name,
            v.entities.join(","),
            `v${v.version}`,
            v.features.map((f) => `${f.name}:${typeName(f.type, f.vectorLength)}`).join(" "),
            formatSeconds(v.maxAge?.seconds),
            formatSeconds(v.ttl?.seconds),
            v.pushSource?.subject || "-",
            v.owner || "-",
          ]),
        ) + "\n",
      );
    });
  });

  withOptions(
    features
      .command("get")
      .description("read online values: one row per key, one column per feature (view:feature, or a view for all its features)")
      .argument("<features...>", "view:feature references, or view names")
      .requiredOption("--key <key>", "entity key (repeatable)", collectList)
      .option("--json", "print the response as JSON lines, one per key"),
  ).action(async (refs: string[], options: { key: string[]; json?: boolean }, command: Command) => {
    await withFeature(command, io, async (client, peer, timeoutMs) => {
      const expanded: string[] = [];
      for (const ref of refs) {
        if (ref.includes(":")) expanded.push(ref);
        else {
          const { featureView } = await callPeer(peer, () => client.describeFeatureView({ name: ref }, { timeoutMs }));
          expanded.push(...featureView!.features.map((f) => `${ref}:${f.name}`));
        }
      }
      const response = await callPeer(peer, () => client.getOnlineFeatures({ features: expanded, entityKeys: options.key }, { timeoutMs }));
      if (options.json) {
        response.entityKeys.forEach((key, row) => {
          const line: Record<string, unknown> = { key };
          for (const column of response.columns) {
            const value = fromFeatureValue(column.values[row]!);
            line[column.feature] = { value: typeof value === "bigint" ? value.toString() : (value ?? null), status: statusName(column.statuses[row]!), event_time: column.statuses[row] === FeatureStatus.NOT_FOUND ? null : new Date(timestampMs(column.eventTimes[row]!)).toISOString() };
          }
          io.out(JSON.stringify(line) + "\n");
        });
        return;
      }
      const rows = response.entityKeys.map((key, row) => [
        key,
        ...response.columns.map((column) => {
          const status = column.statuses[row]!;
          if (status === FeatureStatus.NOT_FOUND) return "-";
          const shown = formatValue(fromFeatureValue(column.values[row]!));
          return status === FeatureStatus.OUTSIDE_MAX_AGE ? `${shown} (too old)` : shown;
        }),
      ]);
      io.out(formatTable(["KEY", ...expanded], rows) + "\n");
      io.out("-: not found; (too old): older than the view's max age\n");
    });
  });

  withOptions(
    features
      .command("write")
      .description("write one row of a view: --key and --values as JSON, e.g. '{\"amount_avg\": 12.5, \"embedding\": [0.1, 0.2]}'")
      .argument("<view>", "feature view")
      .requiredOption("--key <key>", "entity key")
      .requiredOption("--values <json>", "feature name to value, as a JSON object")
      .option("--time <iso>", "event time (ISO 8601); default now"),
  ).action(async (viewName: string, options: { key: string; values: string; time?: string }, command: Command) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(options.values);
    } catch (error) {
      throw new UsageError(`--values is not JSON: ${(error as Error).message}`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new UsageError("--values must be a JSON object of feature name to value");
    const eventTimeMs = options.time === undefined ? Date.now() : Date.parse(options.time);
    if (!Number.isFinite(eventTimeMs)) throw new UsageError(`--time "${options.time}" is not an ISO 8601 time`);
    await withFeature(command, io, async (client, peer, timeoutMs) => {
      const view = await describe(client, peer, viewName, timeoutMs);
      const values = Object.fromEntries(
        Object.entries(parsed as Record<string, unknown>).map(([name, raw]) => {
          const feature = view.features.find((f) => f.name === name);
          if (!feature) throw new UsageError(`view "${viewName}" has no feature "${name}" (it has ${view.features.map((f) => f.name).join(", ")})`);
          return [name, toFeatureValue(feature, raw, "--values")];
        }),
      );
      const result = await callPeer(peer, () => client.writeOnlineFeatures({ view: viewName, rows: [{ entityKey: options.key, eventTime: timestampFromMs(eventTimeMs), values }] }, { timeoutMs }));
      io.out(result.written === 1 ? `written: ${viewName} for ${options.key} at ${new Date(eventTimeMs).toISOString()}\n` : `not written: a newer event is already stored for ${options.key}\n`);
    });
  });

  withOptions(
    features
      .command("materialize")
      .description("load the latest row per entity as of --end from a CSV or JSON Lines file into the online store (rows after --end are ignored)")
      .requiredOption("--view <view>", "feature view to load")
      .requiredOption("--from <file>", "file.csv or file.jsonl: one row per event, with the entity's join key, the timestamp column and feature columns")
      .option("--start <iso>", "ignore rows before this time (default: the beginning)")
      .option("--end <iso>", "point in time: the latest row per entity at or before it wins (default: now)")
      .option("--timestamp-column <name>", "column with the event time (ISO 8601 or epoch ms)", "event_time")
      .addOption(new Option("--batch <rows>", "rows per write").argParser(parseMs).default(500)),
  ).action(async (options: { view: string; from: string; start?: string; end?: string; timestampColumn: string; batch: number }, command: Command) => {
    const startMs = options.start === undefined ? 0 : Date.parse(options.start);
    const endMs = options.end === undefined ? Date.now() : Date.parse(options.end);
    if (!Number.isFinite(startMs)) throw new UsageError(`--start "${options.start}" is not an ISO 8601 time`);
    if (!Number.isFinite(endMs)) throw new UsageError(`--end "${options.end}" is not an ISO 8601 time`);
    if (startMs > endMs) throw new UsageError("--start is after --end");
    const ext = extname(options.from).toLowerCase();
    const format = ext === ".csv" ? "csv" : ext === ".jsonl" || ext === ".ndjson" ? "jsonl" : undefined;
    if (!format) throw new UsageError(`--from ${options.from}: give a .csv or .jsonl file`);
    await withFeature(command, io, async (client, peer, timeoutMs) => {
      const view = await describe(client, peer, options.view, timeoutMs);
      const { entities } = await callPeer(peer, () => client.listEntities({}, { timeoutMs }));
      const entity = entities.find((e) => e.name === view.entities[0]);
      if (!entity) throw new UsageError(`entity "${view.entities[0]}" of view "${view.name}" is not defined`);
      const summary = await callPeer(peer, () =>
        materializeFile(client, { path: resolve(io.cwd, options.from), format, view, entity, startMs, endMs, timestampColumn: options.timestampColumn, batchSize: options.batch, timeoutMs }, new ProgressReporter(io)),
      );
      io.out(`read ${summary.read} rows; ${summary.afterEnd} after --end and ${summary.beforeStart} before --start ignored\n`);
      io.out(`written ${summary.written} entities to ${view.name}${summary.stale ? ` (${summary.stale} skipped: a newer event was already stored)` : ""}\n`);
      io.out(`rejected ${summary.rejected} rows${summary.rejected ? ":" : ""}\n`);
      for (const [reason, { count, firstLine }] of [...summary.reasons].sort((a, b) => b[1].count - a[1].count)) {
        io.out(`  ${count} × ${reason}${firstLine ? ` (first on row ${firstLine})` : ""}\n`);
      }
      if (summary.ignoredColumns.length > 0) io.out(`columns not in the view, ignored: ${summary.ignoredColumns.join(", ")}\n`);
    });
  });

  return features;
}

async function withFeature(command: Command, io: CliIo, run: (client: FeatureClient, peer: Peer, timeoutMs: number | undefined) => Promise<void>): Promise<void> {
  const pick = (key: string): unknown => {
    for (let c: Command | null = command; c; c = c.parent) {
      const value: unknown = c.opts()[key];
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const given = pick("feature");
  const fromEnv = io.env.TESSERA_FEATURE_ADDRESS;
  const address = typeof given === "string" ? given : fromEnv ? parseAddress(fromEnv) : DEFAULT_FEATURE_ADDRESS;
  const timeout = pick("timeout");
  const peer: Peer = { service: "feature service", option: "--feature", address };
  const mesh = createMeshClient(FeatureService, { address, meshToken: io.env.TESSERA_MESH_TOKEN || undefined });
  try {
    await run(mesh.client, peer, typeof timeout === "number" ? timeout : undefined);
  } finally {
    mesh.close();
  }
}

async function describe(client: FeatureClient, peer: Peer, name: string, timeoutMs: number | undefined): Promise<FeatureView> {
  const { featureView } = await callPeer(peer, () => client.describeFeatureView({ name }, { timeoutMs }));
  return featureView!;
}

function parseMs(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number, 1 or more");
  return n;
}

function actionName(action: ApplyAction): string {
  return action === ApplyAction.CREATED ? "created" : action === ApplyAction.UPDATED ? "updated" : "unchanged";
}

function statusName(status: FeatureStatus): string {
  return status === FeatureStatus.PRESENT ? "present" : status === FeatureStatus.OUTSIDE_MAX_AGE ? "outside_max_age" : "not_found";
}

function typeName(type: ValueType, length: number): string {
  const name = (ValueType[type] ?? "unknown").toLowerCase();
  return type === ValueType.FLOAT_VECTOR ? `${name}[${length}]` : name;
}

function formatSeconds(seconds: bigint | undefined): string {
  if (!seconds) return "-";
  const s = Number(seconds);
  if (s % 86_400 === 0) return `${s / 86_400}d`;
  if (s % 3600 === 0) return `${s / 3600}h`;
  if (s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

function formatValue(value: ReturnType<typeof fromFeatureValue>): string {
  if (value === undefined) return "-";
  if (Array.isArray(value)) return `[${value.map((x) => Number(x.toPrecision(6))).join(",")}]`;
  if (typeof value === "number") return String(Number(value.toPrecision(7)));
  return String(value);
}
