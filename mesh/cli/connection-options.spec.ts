import { Command } from "commander";
import { describe, expect, it } from "vitest";
import { addConnectionOptions, resolveConnection } from "./connection-options.js";
import { UsageError } from "./usage-error.js";

function parse(argv: string[]): Command {
  let leaf: Command | undefined;
  const program = new Command("tessera").enablePositionalOptions().exitOverride();
  addConnectionOptions(program, { registry: true, inference: true });
  addConnectionOptions(
    program.command("ls").action((_options: object, command: Command) => {
      leaf = command;
    }),
    { registry: true },
  );
  program.parse(argv, { from: "user" });
  return leaf!;
}

describe("resolveConnection()", () => {
  it("uses the defaults when nothing is given", () => {
    const connection = resolveConnection(parse(["ls"]), { env: {} });
    expect(connection.registry.address).toBe("127.0.0.1:50051");
    expect(connection.inference.address).toBe("127.0.0.1:8001");
    expect(connection.timeoutMs).toBeUndefined();
  });

  it("prefers the command's option, then the program's, then the environment", () => {
    const env = { TESSERA_REGISTRY_ADDRESS: "env:1", TESSERA_INFERENCE_ADDRESS: "env:2" };
    expect(resolveConnection(parse(["ls"]), { env }).registry.address).toBe("env:1");
    expect(resolveConnection(parse(["--registry", "prog:1", "ls"]), { env }).registry.address).toBe("prog:1");
    expect(resolveConnection(parse(["--registry", "prog:1", "ls", "--registry", "cmd:1", "--timeout", "5"]), { env })).toMatchObject({
      registry: { address: "cmd:1" },
      inference: { address: "env:2" },
      timeoutMs: 5,
    });
  });

  it("names the variable when the environment holds a bad address", () => {
    expect(() => resolveConnection(parse(["ls"]), { env: { TESSERA_REGISTRY_ADDRESS: "nope" } })).toThrow(UsageError);
    expect(() => resolveConnection(parse(["ls"]), { env: { TESSERA_REGISTRY_ADDRESS: "nope" } })).toThrow("TESSERA_REGISTRY_ADDRESS:");
  });
});
