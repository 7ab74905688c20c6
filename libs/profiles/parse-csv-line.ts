import { invalidArgument } from "../errors/index.js";

/**
 * Splits one CSV record (RFC 4180: comma-separated, fields optionally in
 * double quotes, "" for a quote inside one). Records spanning lines are not
 * supported: training data with newlines inside fields is rare, and the
 * error says so.
 */
export function parseCsvLine(line: string, where: string): string[] {
  const fields: string[] = [];
  let i = 0;
  const text = line.endsWith("\r") ? line.slice(0, -1) : line;
  for (;;) {
    if (text[i] === '"') {
      let value = "";
      i++;
      for (;;) {
        const q = text.indexOf('"', i);
        if (q < 0) throw invalidArgument(`${where}: a quoted field does not end on this line (fields with line breaks are not supported)`);
        value += text.slice(i, q);
        if (text[q + 1] === '"') {
          value += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      fields.push(value);
      if (i === text.length) return fields;
      if (text[i] !== ",") throw invalidArgument(`${where}: expected a comma after a quoted field at column ${i + 1}`);
      i++;
    } else {
      const comma = text.indexOf(",", i);
      if (comma < 0) {
        fields.push(text.slice(i));
        return fields;
      }
      fields.push(text.slice(i, comma));
      i = comma + 1;
    }
  }
}
