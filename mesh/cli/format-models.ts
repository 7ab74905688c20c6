import { toJsonString } from "@bufbuild/protobuf";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { BatchingConfigSchema } from "../../libs/gen/tessera/registry/v1/batching_pb.js";
import { Stage, type Model, type ModelVersion } from "../../libs/gen/tessera/registry/v1/registry_pb.js";
import { formatSignature } from "./format-signature.js";
import { formatTable } from "./format-table.js";
import { stageName } from "./parse-stage.js";

/** `tessera models ls`: one row per model. */
export function formatModelList(models: readonly Model[]): string {
  if (models.length === 0) return "no models yet; push one with `tessera models push <file.onnx> --name <model>`";
  return formatTable(
    ["NAME", "LATEST", "ALIASES", "STAGES", "UPDATED", "DESCRIPTION"],
    models.map((m) => [m.name, m.latestVersion > 0 ? `v${m.latestVersion}` : "-", aliasList(m), stageList(m), when(m.updateTime), m.description]),
  );
}

/** `tessera models show <name>`: the model, its versions, and the signature of the newest one. */
export function formatModelDetail(model: Model, versions: readonly ModelVersion[]): string {
  const lines = [`model ${model.name}`];
  if (model.description !== "") lines.push(`  description  ${model.description}`);
  if (Object.keys(model.tags).length > 0) lines.push(`  tags         ${pairs(model.tags)}`);
  lines.push(`  aliases      ${aliasList(model) || "(none)"}`);
  lines.push(`  created      ${when(model.createTime)}`);
  lines.push("");
  if (versions.length === 0) {
    lines.push("no versions yet; push one with `tessera models push <file.onnx> --name " + model.name + "`");
    return lines.join("\n");
  }
  const sorted = [...versions].sort((a, b) => b.version - a.version);
  lines.push(
    formatTable(
      ["VERSION", "STAGE", "ALIASES", "SIZE", "SHA256", "CREATED", "DESCRIPTION"],
      sorted.map((v) => [
        `v${v.version}`,
        stageName(model.versionStages[v.version] ?? v.stage),
        aliasesOf(model, v.version).join(", "),
        size(v.artifact?.sizeBytes),
        v.artifact?.sha256.slice(0, 12) ?? "",
        when(v.createTime),
        v.description,
      ]),
    ),
  );
  const newest = sorted[0]!;
  lines.push("", `signature of v${newest.version}:`, formatSignature(newest.signature));
  return lines.join("\n");
}

/** `tessera models show <name> --version N | --alias A`: one version in full. */
export function formatVersionDetail(version: ModelVersion): string {
  const lines = [`model ${version.model} v${version.version}`];
  lines.push(`  stage        ${stageName(version.stage)}`);
  lines.push(`  aliases      ${version.aliases.length > 0 ? [...version.aliases].sort().join(", ") : "(none)"}`);
  if (version.description !== "") lines.push(`  description  ${version.description}`);
  if (Object.keys(version.tags).length > 0) lines.push(`  tags         ${pairs(version.tags)}`);
  if (Object.keys(version.metrics).length > 0) lines.push(`  metrics      ${pairs(version.metrics)}`);
  if (version.artifact) lines.push(`  artifact     ${version.artifact.format || "onnx"}, ${size(version.artifact.sizeBytes)}, sha256 ${version.artifact.sha256}`);
  if (version.batching) lines.push(`  batching     ${toJsonString(BatchingConfigSchema, version.batching)}`);
  lines.push(`  created      ${when(version.createTime)}`);
  lines.push("", "signature:", formatSignature(version.signature));
  return lines.join("\n");
}

/** `tessera models push`: what was stored. */
export function formatPushed(version: ModelVersion): string {
  const aliases = version.aliases.length > 0 ? `, aliases ${[...version.aliases].sort().join(", ")}` : "";
  const extra = version.artifact?.externalData ?? [];
  const files = extra.length === 0 ? "" : ` + ${extra.length} external data file${extra.length === 1 ? "" : "s"} (${size(extra.reduce((sum, file) => sum + file.sizeBytes, 0n))})`;
  const artifact = version.artifact ? ` (${size(version.artifact.sizeBytes)}${files}, sha256 ${version.artifact.sha256.slice(0, 12)})` : "";
  return [`pushed ${version.model} v${version.version}${artifact}${aliases}`, "", "signature:", formatSignature(version.signature)].join("\n");
}

/** "production→v3, staging→v4", sorted by alias. */
function aliasList(model: Model): string {
  return Object.entries(model.aliases)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([alias, version]) => `${alias}→v${version}`)
    .join(", ");
}

function aliasesOf(model: Model, version: number): string[] {
  return Object.entries(model.aliases)
    .filter(([, v]) => v === version)
    .map(([alias]) => alias)
    .sort();
}

/** "v3 production, v2 archived", newest first; versions in STAGE_NONE left out. */
function stageList(model: Model): string {
  return Object.entries(model.versionStages)
    .filter(([, stage]) => stage !== Stage.NONE && stage !== Stage.UNSPECIFIED)
    .sort(([a], [b]) => Number(b) - Number(a))
    .map(([version, stage]) => `v${version} ${stageName(stage)}`)
    .join(", ");
}

function pairs(record: Record<string, string | number>): string {
  return Object.entries(record)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
}

/** "2025-03-01 14:05 UTC"; "-" when unset. */
function when(timestamp: Timestamp | undefined): string {
  if (!timestamp) return "-";
  return timestampDate(timestamp).toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

/** "12.3 kB", "21.0 MB"; "-" when unknown. */
export function size(bytes: bigint | undefined): string {
  if (bytes === undefined) return "-";
  const n = Number(bytes);
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(1)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}
