import { spawn, type ChildProcess } from "node:child_process";

/** A service the bench started as a process of its own. */
export interface SpawnedService {
  child: ChildProcess;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `node <script>` with `env` added to this process's, and resolves
 * once a line of its output passes `ready` (its "listening" log line).
 */
export async function spawnService(script: string, env: Record<string, string>, ready: (line: string) => boolean): Promise<SpawnedService> {
  const child = spawn(process.execPath, [...process.execArgv.filter((a) => a.startsWith("--cpu-prof")), script], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  await new Promise<void>((resolve, reject) => {
    let seen = "";
    const look = (chunk: Buffer) => {
      seen += chunk.toString("utf8");
      if (seen.split("\n").some(ready)) resolve();
    };
    child.stdout!.on("data", look);
    child.stderr!.on("data", look);
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code} before it was ready:\n${seen}`)));
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
