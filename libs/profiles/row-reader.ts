import { invalidArgument } from "../errors/index.js";
import { FeatureRole } from "../gen/tessera/registry/v1/profile_pb.js";
import type { FeatureSlot } from "./feature-slots.js";
import { parseCsvLine } from "./parse-csv-line.js";
import type { CellValue } from "./profile-builder.js";

export interface RowReader {
  /** The slots this data has, in the order `read` returns their values. */
  readonly slots: readonly FeatureSlot[];
  /** Values of one line (1-based `lineNumber` for errors); undefined for a blank line. */
  read(line: string, lineNumber: number): CellValue[] | undefined;
}

/**
 * Reads CSV whose header names features ("amount", "features[3]"). Every
 * input feature must be there; outputs are profiled when present (training
 * data often has the label, rarely the model's own outputs). Unknown columns
 * are ignored (ids, timestamps).
 */
export function csvRowReader(headerLine: string, slots: readonly FeatureSlot[], file: string): RowReader {
  const header = parseCsvLine(headerLine, `${file} line 1`).map((h) => h.trim());
  const columns = new Map(header.map((name, i) => [name, i]));
  const present = pick(slots, (s) => columns.has(s.name), file, header);
  const index = present.map((s) => columns.get(s.name)!);
  return {
    slots: present,
    read(line, lineNumber) {
      if (line.trim() === "") return undefined;
      const where = `${file} line ${lineNumber}`;
      const fields = parseCsvLine(line, where);
      if (fields.length !== header.length) throw invalidArgument(`${where}: expected ${header.length} fields as in the header, got ${fields.length}`);
      return index.map((i) => fields[i]);
    },
  };
}

/**
 * Reads JSON Lines: one object per line, keyed by feature name, or by tensor
 * name with an array of the row's values ({"features": [0.1, 2, ...]}).
 * The first line decides which slots are present.
 */
export function jsonlRowReader(firstLine: string, slots: readonly FeatureSlot[], file: string): RowReader {
  const first = parseObject(firstLine, `${file} line 1`);
  const has = (s: FeatureSlot) => s.name in first || (s.width > 1 && Array.isArray(first[s.tensor]));
  const present = pick(slots, has, file, Object.keys(first));
  return {
    slots: present,
    read(line, lineNumber) {
      if (line.trim() === "") return undefined;
      const where = `${file} line ${lineNumber}`;
      const row = parseObject(line, where);
      return present.map((s) => {
        let value = row[s.name];
        if (value === undefined && s.width > 1) {
          const array = row[s.tensor];
          if (!Array.isArray(array) || array.length !== s.width) {
            throw invalidArgument(`${where}: "${s.tensor}" must be an array of ${s.width} values`);
          }
          value = array[s.column];
        }
        if (value !== null && value !== undefined && typeof value !== "number" && typeof value !== "string" && typeof value !== "boolean") {
          throw invalidArgument(`${where}: "${s.name}" must be a number, string or bool, got ${JSON.stringify(value)}`);
        }
        return value as CellValue;
      });
    },
  };
}

function parseObject(line: string, where: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    throw invalidArgument(`${where}: not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw invalidArgument(`${where}: expected a JSON object`);
  return value as Record<string, unknown>;
}

function pick(slots: readonly FeatureSlot[], present: (s: FeatureSlot) => boolean, file: string, found: readonly string[]): FeatureSlot[] {
  const missing = slots.filter((s) => s.role === FeatureRole.INPUT && !present(s)).map((s) => s.name);
  if (missing.length > 0) {
    throw invalidArgument(
      `${file} lacks input feature${missing.length > 1 ? "s" : ""} ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", …" : ""} (it has: ${found.slice(0, 20).join(", ")})`,
    );
  }
  return slots.filter(present);
}
