import { basename } from "node:path";
import { ConnectError } from "@connectrpc/connect";
import { checkModelName } from "../../services/registry/names.js";
import { UsageError } from "./usage-error.js";

/**
 * The model name `tessera models push` uses: --name, else the file's name
 * without .onnx. Checked here, before the file is read or sent, so a file
 * called "Fraud Model v2.onnx" fails at once with a name that would do.
 */
export function modelNameFor(file: string, given: string | undefined): string {
  const name = given ?? basename(file).replace(/\.onnx$/i, "");
  try {
    return checkModelName(name, given === undefined ? "the model name taken from the file name" : "--name");
  } catch (error) {
    const reason = ConnectError.from(error).rawMessage;
    if (given !== undefined) throw new UsageError(reason);
    const suggestion = suggestName(name);
    throw new UsageError(`${reason}; pass --name${suggestion ? `, e.g. --name ${suggestion}` : " <model>"}`);
  }
}

function suggestName(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^[-_]+|-+$/g, "")
    .slice(0, 63);
}
