import { InvalidArgumentError, Option, type Command } from "commander";
import type { CliIo } from "./cli-io.js";
import { parseAddress } from "./parse-address.js";
import type { Peer } from "./peer-error.js";
import { UsageError } from "./usage-error.js";

export const DEFAULT_MONITORING_ADDRESS = "127.0.0.1:50053";

/** --monitoring <host:port> on a command that calls the monitoring service. */
export function addMonitoringOption(command: Command): Command {
  return command.addOption(
    new Option("--monitoring <host:port>", `monitoring gRPC address (env TESSERA_MONITORING_ADDRESS, default ${DEFAULT_MONITORING_ADDRESS})`).argParser(parseAddress),
  );
}

/** The monitoring service to call: the command's option, then its parents', then the environment, then the default. */
export function monitoringPeer(command: Command, io: Pick<CliIo, "env">): Peer {
  let given: unknown;
  for (let c: Command | null = command; c && given === undefined; c = c.parent) given = c.opts().monitoring;
  let address = typeof given === "string" ? given : DEFAULT_MONITORING_ADDRESS;
  const fromEnv = io.env.TESSERA_MONITORING_ADDRESS;
  if (given === undefined && fromEnv) {
    try {
      address = parseAddress(fromEnv);
    } catch (error) {
      throw new UsageError(`TESSERA_MONITORING_ADDRESS: ${error instanceof InvalidArgumentError ? error.message : String(error)}`);
    }
  }
  return { service: "monitoring service", option: "--monitoring", address };
}
