import { spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "../../mesh/launcher/repo-root.js";

/** The built `tessera` CLI (`npm test` builds first). */
export const tesseraCli = join(repoRoot(), "dist", "mesh", "cli", "main.js");

export interface NodeRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `script` in a fresh Node process (env laid over this one's) and resolves with its exit code and everything it printed. */
export function runNode(script: string, args: string[] = [], options: { env?: Record<string, string>; cwd?: string } = {}): Promise<NodeRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], { env: { ...process.env, ...options.env }, cwd: options.cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (data: Buffer) => (stdout += data.toString("utf8")));
    child.stderr.on("data", (data: Buffer) => (stderr += data.toString("utf8")));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, stdout, stderr }));
  });
}
