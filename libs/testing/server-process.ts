import { spawn, type ChildProcess } from "node:child_process";

/** @internal A server binary we started, and how to stop it. */
export interface ServerProcess {
  child: ChildProcess;
  /** The match of `ready` against the output. */
  ready: RegExpMatchArray;
  /** Output so far, for error messages. */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const installHint = "install it: apt-get install -y nats-server redis-server";
const running = new Set<ChildProcess>();
let exitHookInstalled = false;

/**
 * @internal Spawns `command` and resolves once a line of its output matches
 * `ready`. Fails with the output if it exits first or takes longer than
 * `timeoutMs`, and with how to install it if the binary is missing.
 * Servers still running when this process exits are killed, so a crashed
 * test run leaves nothing behind.
 */
export function spawnServer(command: string, args: string[], ready: RegExp, timeoutMs = 15_000): Promise<ServerProcess> {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once("exit", () => {
      for (const child of running) child.kill("SIGKILL");
    });
  }
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let settled = false;
    const exited = new Promise<void>((res) => child.once("exit", () => res()));
    running.add(child);
    void exited.then(() => running.delete(child));

    const fail = (message: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      reject(new Error(message));
    };
    const timer = setTimeout(
      () => fail(`${command} did not become ready within ${timeoutMs} ms. Its output:\n${output}`),
      timeoutMs,
    );
    timer.unref();

    const onData = (data: Buffer) => {
      // Keep draining the pipe (a full pipe would block the server) but only the recent output.
      output = (output + data.toString("utf8")).slice(-64 * 1024);
      const match = output.match(ready);
      if (match && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve({
          child,
          ready: match,
          output: () => output,
          async stop(signal = "SIGTERM") {
            if (child.exitCode !== null || child.signalCode !== null) return;
            child.kill(signal);
            const force = setTimeout(() => child.kill("SIGKILL"), 10_000);
            force.unref();
            await exited;
            clearTimeout(force);
          },
        });
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("error", (err: NodeJS.ErrnoException) => {
      if (err.code === "ENOENT") fail(`${command} is not installed; ${installHint}`);
      else fail(`could not start ${command}: ${err.message}`);
    });
    child.once("exit", (code, signal) => {
      fail(`${command} ${args.join(" ")} exited (${signal ?? `code ${code}`}) before it was ready. Its output:\n${output}`);
    });
  });
}
