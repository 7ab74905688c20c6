import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { ClosedLoopResult } from "./closed-loop.js";
import type { LoadWorkerJob } from "./load-worker.js";

const workerPath = fileURLToPath(new URL("./load-worker.js", import.meta.url));

/** Runs one closed-loop load from a separate process and returns what it measured. */
export async function spawnLoad(job: LoadWorkerJob): Promise<ClosedLoopResult> {
  const json = JSON.stringify(job, (_key, value: unknown) => (typeof value === "bigint" ? { $bigint: value.toString() } : value));
  const child = spawn(process.execPath, [workerPath, json], { stdio: ["ignore", "pipe", "inherit"] });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (output += chunk));
  const code: number = await new Promise((resolve) => child.on("exit", (exitCode) => resolve(exitCode ?? 1)));
  if (code !== 0) throw new Error(`load worker exited with ${code}`);
  return JSON.parse(output.trim()) as ClosedLoopResult;
}
