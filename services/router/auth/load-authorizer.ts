import { readFile } from "node:fs/promises";
import type { Logger } from "../../../libs/log/index.js";
import { readAuthFile } from "./auth-file.js";
import { KeyAuthorizer } from "./key-authorizer.js";

/** Reads TESSERA_ROUTER_AUTH_FILE and returns the authorizer it describes. */
export async function loadAuthorizer(path: string, logger: Logger): Promise<KeyAuthorizer> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(path, "utf8"));
  } catch (error) {
    throw new Error(`TESSERA_ROUTER_AUTH_FILE: cannot read ${path}: ${(error as Error).message}`);
  }
  return new KeyAuthorizer(readAuthFile(json, path), logger);
}
