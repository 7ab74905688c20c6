import { spawn, type ChildProcess } from "node:child_process";

/** A service the bench started as a process of its own. */
export interface SpawnedService {
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `node <script> [...args]` with `env` added to this process's, and
 * resolves once a line of its output passes `ready` (its "listening" log
 * line); a process not ready within `readyWithinMs` is killed and the bench fails.
 */
export async function spawnService(
  script: string | readonly [string, ...string[]],
  env: Record<string, string>,
  ready: (line: string) => boolean,
  readyWithinMs = 60_000,
): Promise<SpawnedService> {
  const [file, ...args] = typeof script === "string" ? [script] : script;
  // --cpu-prof on the bench is passed on, so each process leaves its own profile.
  const child = spawn(process.execPath, [...process.execArgv.filter((a) => a.startsWith("--cpu-prof")), file, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${file} was not ready within ${readyWithinMs} ms:\n${seen}`));
    }, readyWithinMs);
    const look = (chunk: Buffer) => {
      seen += chunk.toString("utf8");
      if (seen.split("\n").some(ready)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on("data", look);
    child.stderr!.on("data", look);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${file} exited with ${code} before it was ready:\n${seen}`));
    });
  });
  return {
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exit;
      clearTimeout(killer);
    },
  };
}
