import { InvalidArgumentError, Option, type Command } from "commander";
import type { CliIo } from "./cli-io.js";
import { parseMilliseconds } from "./parse-count.js";
import { parseAddress } from "./parse-address.js";
import type { Peer } from "./peer-error.js";
import { UsageError } from "./usage-error.js";

export const DEFAULT_REGISTRY_ADDRESS = "127.0.0.1:50051";
export const DEFAULT_INFERENCE_ADDRESS = "127.0.0.1:8001";

/** Where the CLI sends its calls, and each call's deadline. */
export interface Connection {
  readonly registry: Peer;
  readonly inference: Peer;
  /** Deadline of each call, ms; undefined: the command's own default. */
  readonly timeoutMs: number | undefined;
  /** TESSERA_API_KEY, sent as x-api-key to the router (an env var, not a flag, so it stays out of shell history). */
  readonly apiKey: string | undefined;
  /** TESSERA_MESH_TOKEN, sent as x-tessera-mesh-token to the registry, feature and monitoring services (they refuse writes without it when they run with one). */
  readonly meshToken: string | undefined;
}

/** The headers that carry the API key, for a call through the router. */
export function authHeaders(connection: Connection): Record<string, string> {
  return connection.apiKey ? { "x-api-key": connection.apiKey } : {};
}

/**
 * --registry, --inference and --timeout, for the program and for each
 * command that calls out. On the command they may follow its arguments
 * (`tessera models ls --registry h:p`); on the program they come before
 * the command name. No commander defaults: resolveConnection() picks the
 * nearest one given, then the environment, then the default.
 */
export function addConnectionOptions(command: Command, which: { registry?: boolean; inference?: boolean }): Command {
  if (which.registry) {
    command.addOption(new Option("--registry <host:port>", `registry gRPC address (env TESSERA_REGISTRY_ADDRESS, default ${DEFAULT_REGISTRY_ADDRESS})`).argParser(parseAddress));
  }
  if (which.inference) {
    command.addOption(new Option("--inference <host:port>", `inference replica gRPC address (env TESSERA_INFERENCE_ADDRESS, default ${DEFAULT_INFERENCE_ADDRESS})`).argParser(parseAddress));
  }
  command.addOption(new Option("--timeout <ms>", "deadline of each call in milliseconds (default 10000; 600000 for uploads)").argParser(parseMilliseconds));
  return command;
}

/** The connection for `command`: its own options first, then its parents', then the environment, then the defaults. */
export function resolveConnection(command: Command, io: Pick<CliIo, "env">): Connection {
  const pick = (key: string): unknown => {
    for (let c: Command | null = command; c; c = c.parent) {
      const value: unknown = c.opts()[key];
      if (value !== undefined) return value;
    }
    return undefined;
  };
  const address = (key: "registry" | "inference", envName: string, fallback: string): string => {
    const given = pick(key);
    if (typeof given === "string") return given;
    const fromEnv = io.env[envName];
    if (fromEnv === undefined || fromEnv === "") return fallback;
    try {
      return parseAddress(fromEnv);
    } catch (error) {
      throw new UsageError(`${envName}: ${error instanceof InvalidArgumentError ? error.message : String(error)}`);
    }
  };
  const timeout = pick("timeout");
  return {
    registry: { service: "registry", option: "--registry", address: address("registry", "TESSERA_REGISTRY_ADDRESS", DEFAULT_REGISTRY_ADDRESS) },
    inference: { service: "inference replica", option: "--inference", address: address("inference", "TESSERA_INFERENCE_ADDRESS", DEFAULT_INFERENCE_ADDRESS) },
    timeoutMs: typeof timeout === "number" ? timeout : undefined,
    apiKey: io.env.TESSERA_API_KEY || undefined,
    meshToken: io.env.TESSERA_MESH_TOKEN || undefined,
  };
}
