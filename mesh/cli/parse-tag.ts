import { InvalidArgumentError } from "commander";

/**
 * Commander argument parser for a repeatable `--tag key=value`: adds one
 * pair to the tags so far. The value may hold '=' (only the first splits);
 * the key must not be empty. The registry checks the key's alphabet.
 */
export function collectTag(text: string, previous: Record<string, string> = {}): Record<string, string> {
  const at = text.indexOf("=");
  if (at < 0) throw new InvalidArgumentError(`"${text}" is not key=value (e.g. --tag team=risk)`);
  const key = text.slice(0, at).trim();
  if (key === "") throw new InvalidArgumentError(`"${text}" has no key before '=' (e.g. --tag team=risk)`);
  if (Object.hasOwn(previous, key)) throw new InvalidArgumentError(`tag "${key}" is given twice; give each key once`);
  return { ...previous, [key]: text.slice(at + 1) };
}

/** Commander argument parser for a repeatable option: appends the value. */
export function collectList(text: string, previous: string[] = []): string[] {
  return [...previous, text];
}
