import { fromBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { invalidArgument } from "../../libs/errors/index.js";
import { toFeatureValue } from "../../libs/feature-client/index.js";
import { FeatureRowSchema, type FeatureRow, type FeatureView, type FeatureValue } from "../../libs/gen/tessera/feature/v1/feature_pb.js";

/**
 * A push message as a row of `view`. Two forms:
 * - `application/protobuf`: a tessera.feature.v1.FeatureRow;
 * - anything else: JSON `{"entity_key": "c1", "event_time": "2026-01-01T00:00:00Z" | 1767225600000, "values": {"amount": 3.5}}`,
 *   values as plain JSON typed by the view.
 * What cannot be read is INVALID_ARGUMENT, whose message becomes the dead letter's reason.
 */
export function parsePushMessage(view: FeatureView, data: Uint8Array, contentType: string | undefined): FeatureRow {
  if (contentType === "application/protobuf" || contentType === "application/x-protobuf") {
    try {
      return fromBinary(FeatureRowSchema, data);
    } catch (error) {
      throw invalidArgument(`not a tessera.feature.v1.FeatureRow: ${(error as Error).message}`);
    }
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(data));
  } catch {
    throw invalidArgument("not JSON (send {\"entity_key\", \"event_time\", \"values\"}, or a FeatureRow with content-type application/protobuf)");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw invalidArgument("not a JSON object");
  const record = parsed as Record<string, unknown>;
  const key = record.entity_key ?? record.entityKey;
  if (typeof key !== "string" && typeof key !== "number") throw invalidArgument("entity_key is missing");
  const rawTime = record.event_time ?? record.eventTime;
  const eventTimeMs = typeof rawTime === "number" ? rawTime : typeof rawTime === "string" ? Date.parse(rawTime) : Number.NaN;
  if (!Number.isFinite(eventTimeMs)) throw invalidArgument("event_time is missing or not ISO 8601 / epoch milliseconds");
  const rawValues = record.values;
  if (typeof rawValues !== "object" || rawValues === null || Array.isArray(rawValues)) throw invalidArgument("values is missing or not an object");
  const values: Record<string, FeatureValue> = {};
  for (const [name, raw] of Object.entries(rawValues)) {
    const feature = view.features.find((f) => f.name === name);
    if (!feature) throw invalidArgument(`view "${view.name}" has no feature "${name}"`);
    values[name] = toFeatureValue(feature, raw, "values");
  }
  return { $typeName: "tessera.feature.v1.FeatureRow", entityKey: String(key), eventTime: timestampFromMs(eventTimeMs), values };
}
