import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { createInterface } from "node:readline";
import { parse } from "csv-parse";
import { ConnectError } from "../../libs/errors/index.js";
import { toFeatureValue } from "../../libs/feature-client/index.js";
import { Code } from "../../libs/errors/index.js";
import type { Entity, FeatureService, FeatureView, FeatureValue } from "../../libs/gen/tessera/feature/v1/feature_pb.js";
import type { MeshClient } from "../../libs/host/index.js";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { LatestPerEntity, type SourceRow } from "./pick-latest.js";
import type { ProgressReporter } from "./progress-reporter.js";

type FeatureClient = MeshClient<typeof FeatureService>["client"];

export interface MaterializeOptions {
  path: string;
  format: "csv" | "jsonl";
  view: FeatureView;
  entity: Entity;
  startMs: number;
  endMs: number;
  /** Column holding the event time (ISO 8601 or epoch milliseconds). */
  timestampColumn: string;
  batchSize: number;
  timeoutMs?: number;
}

export interface MaterializeSummary {
  read: number;
  written: number;
  stale: number;
  afterEnd: number;
  beforeStart: number;
  rejected: number;
  /** Reason → how many rows, with the first line it happened on. */
  reasons: Map<string, { count: number; firstLine: number }>;
  ignoredColumns: string[];
}

/**
 * Reads a CSV or JSON Lines file, keeps the latest row per entity as of
 * the end time (point in time: later rows are ignored), and writes those
 * rows through WriteOnlineFeatures in batches. A row that cannot be read
 * is rejected with its reason and the rest go on; a batch the service
 * refuses is retried row by row, so one bad row costs only itself.
 */
export async function materializeFile(client: FeatureClient, options: MaterializeOptions, progress: ProgressReporter): Promise<MaterializeSummary> {
  const summary: MaterializeSummary = { read: 0, written: 0, stale: 0, afterEnd: 0, beforeStart: 0, rejected: 0, reasons: new Map(), ignoredColumns: [] };
  const reject = (reason: string, line: number) => {
    summary.rejected++;
    const held = summary.reasons.get(reason);
    if (held) held.count++;
    else summary.reasons.set(reason, { count: 1, firstLine: line });
  };
  const features = new Map(options.view.features.map((f) => [f.name, f]));
  const joinKey = options.entity.joinKey || options.entity.name;
  const pick = new LatestPerEntity(options.startMs, options.endMs);
  const ignored = new Set<string>();
  const total = (await stat(options.path)).size;
  const stream = createReadStream(options.path);
  let line = 0;

  const take = (record: Record<string, unknown>) => {
    line++;
    summary.read++;
    const key = record[joinKey];
    if (key === undefined || key === null || key === "") return reject(`no ${joinKey} (the entity's join key)`, line);
    const rawTime = record[options.timestampColumn];
    const eventTimeMs = typeof rawTime === "number" ? rawTime : /^\d+$/.test(String(rawTime ?? "")) ? Number(rawTime) : Date.parse(String(rawTime ?? ""));
    if (!Number.isFinite(eventTimeMs)) return reject(`no readable ${options.timestampColumn} (ISO 8601 or epoch ms)`, line);
    const values: Record<string, FeatureValue> = {};
    for (const [column, raw] of Object.entries(record)) {
      if (column === joinKey || column === options.timestampColumn) continue;
      const feature = features.get(column);
      if (!feature) {
        ignored.add(column);
        continue;
      }
      if (raw === "" || raw === null || raw === undefined) continue;
      try {
        values[column] = toFeatureValue(feature, raw, "row");
      } catch (error) {
        return reject(ConnectError.from(error).rawMessage.replace(/^row: /, ""), line);
      }
    }
    if (Object.keys(values).length === 0) return reject("no feature values", line);
    const row: SourceRow = { entityKey: String(key), eventTimeMs, values };
    pick.offer(row);
  };

  if (options.format === "csv") {
    const parser = stream.pipe(parse({ columns: true, skip_empty_lines: true, trim: true, relax_column_count: true }));
    for await (const record of parser as AsyncIterable<Record<string, string>>) {
      take(record);
      if (summary.read % 1000 === 0) progress.update("reading", stream.bytesRead, total, "bytes");
    }
  } else {
    for await (const text of createInterface({ input: stream, crlfDelay: Infinity })) {
      if (text.trim() === "") continue;
      let record: unknown;
      try {
        record = JSON.parse(text);
      } catch {
        line++;
        summary.read++;
        reject("not a JSON object", line);
        continue;
      }
      if (typeof record !== "object" || record === null || Array.isArray(record)) {
        line++;
        summary.read++;
        reject("not a JSON object", line);
        continue;
      }
      take(record as Record<string, unknown>);
      if (summary.read % 1000 === 0) progress.update("reading", stream.bytesRead, total, "bytes");
    }
  }
  progress.update("reading", total, total, "bytes");
  progress.done();
  summary.afterEnd = pick.afterEnd;
  summary.beforeStart = pick.beforeStart;
  summary.ignoredColumns = [...ignored].sort();

  const rows = pick.rows();
  const toWire = (row: SourceRow) => ({ entityKey: row.entityKey, eventTime: timestampFromMs(row.eventTimeMs), values: row.values });
  for (let i = 0; i < rows.length; i += options.batchSize) {
    const batch = rows.slice(i, i + options.batchSize);
    try {
      const result = await client.writeOnlineFeatures({ view: options.view.name, rows: batch.map(toWire) }, { timeoutMs: options.timeoutMs });
      summary.written += result.written;
      summary.stale += result.stale;
    } catch (error) {
      if (ConnectError.from(error).code !== Code.InvalidArgument) throw error;
      for (const row of batch) {
        try {
          const result = await client.writeOnlineFeatures({ view: options.view.name, rows: [toWire(row)] }, { timeoutMs: options.timeoutMs });
          summary.written += result.written;
          summary.stale += result.stale;
        } catch (rowError) {
          const status = ConnectError.from(rowError);
          if (status.code !== Code.InvalidArgument) throw rowError;
          reject(status.rawMessage.replace(/^write to "[^"]+", row \d+ \(entity "[^"]*"\): /, ""), 0);
        }
      }
    }
    progress.update("writing", Math.min(i + options.batchSize, rows.length), rows.length, "rows");
  }
  if (rows.length > 0) progress.done();
  return summary;
}
