import { UsageError } from "./usage-error.js";

/**
 * The text of an option that takes JSON inline or from a file: "@path"
 * reads the file (as curl's -d @file does); anything else is the JSON.
 */
export function readJsonArgument(text: string, option: string, readText: (path: string) => string): string {
  if (!text.startsWith("@")) return text;
  const path = text.slice(1);
  if (path === "") throw new UsageError(`${option}: "@" needs a file name after it, e.g. ${option} @input.json`);
  try {
    return readText(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`${option}: cannot read ${path}${code === "ENOENT" ? ": no such file" : `: ${(error as Error).message}`}`);
  }
}
