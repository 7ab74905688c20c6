import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "./free-port.js";

const serverPath = fileURLToPath(new URL("./bare-predict-server.js", import.meta.url));

export interface BareServer {
  address: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Starts bare-predict-server.ts in a process of its own, answering every Predict with `responseArg` (see responseAsArg);
 * with `loops` > 1, as that many node:cluster workers sharing the port.
 */
export async function spawnBareServer(responseArg: string, loops = 1): Promise<BareServer> {
  const port = await freePort();
  const child = spawn(process.execPath, [serverPath, String(port), responseArg, String(loops)], { stdio: ["ignore", "pipe", "inherit"] });
  const exit = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      if (output.includes("ready")) resolve();
    });
    child.once("exit", (code) => reject(new Error(`bare server exited with ${code} before it was ready`)));
  });
  return {
    address: `127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exit;
      clearTimeout(killer);
    },
  };
}
