import { Command, CommanderError } from "commander";
import type { CliIo } from "./cli-io.js";
import { addConnectionOptions } from "./connection-options.js";
import { describeError, EXIT_OK, EXIT_USAGE } from "./describe-error.js";
import { featuresCommand } from "./features-command.js";
import { modelsCommand } from "./models-command.js";
import { alertsCommand, driftCommand, profileCommand } from "./monitoring-commands.js";
import { rolloutCommand } from "./rollout-command.js";
import { predictCommand } from "./predict-command.js";
import { routesCommand } from "./routes-command.js";
import { upCommand } from "./up-command.js";

/** Tessera's version, as `tessera --version` prints it. */
export const CLI_VERSION = "0.1.0";

/** The `tessera` program, every command wired, output going to `io`. */
export function createProgram(io: CliIo): Command {
  const program = new Command("tessera")
    .description("Tessera, a model-serving mesh: run it locally, manage models in the registry, call inference")
    .version(CLI_VERSION, "-V, --version", "print the version")
    // Options before the command name are the program's, after it the command's:
    // `predict --version 3` is then predict's, not the program's --version.
    .enablePositionalOptions();
  addConnectionOptions(program, { registry: true, inference: true });
  program.addCommand(upCommand(io));
  program.addCommand(modelsCommand(io));
  program.addCommand(predictCommand(io));
  program.addCommand(driftCommand(io));
  program.addCommand(profileCommand(io));
  program.addCommand(alertsCommand(io));
  program.addCommand(rolloutCommand(io));
  program.addCommand(featuresCommand(io));
  program.addCommand(routesCommand(io));
  configureAll(program, io);
  return program;
}

/**
 * Runs one command line (without "node" and the script). Returns the exit
 * status: 0 done, 1 failed, 2 the command line was wrong. Every error is
 * one line on stderr, prefixed with the command.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const program = createProgram(io);
  try {
    await program.parseAsync([...argv], { from: "user" });
    return EXIT_OK;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed its message (see configureAll); help and --version end here too.
      return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    const described = describeError(error);
    io.err(`tessera: ${described.message}\n`);
    return described.exitCode;
  }
}

/**
 * Every command throws instead of exiting, writes through `io`, and words
 * usage errors as one line naming the command and where its help is.
 * Settings are applied to each command because commands made with
 * `new Command()` inherit nothing from their parent.
 */
function configureAll(command: Command, io: CliIo): void {
  const path = commandPath(command);
  command
    .exitOverride()
    .showHelpAfterError(false)
    .configureOutput({
      writeOut: (text) => io.out(text),
      writeErr: (text) => io.err(text),
      outputError: (text, write) => write(`${path}: ${text.trim().replace(/^error: /, "")} (see \`${path} --help\`)\n`),
    });
  for (const sub of command.commands) configureAll(sub, io);
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c; c = c.parent) names.unshift(c.name());
  return names.join(" ");
}
