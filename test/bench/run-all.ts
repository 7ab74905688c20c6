import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** Every bench, one after another in its own process (so none inherits another's heap or JIT), then all target lines again. */
const BENCHES = ["rpc.bench.js", "inference.bench.js", "monitoring.bench.js", "features.bench.js", "router.bench.js"];

async function runBench(file: string): Promise<{ code: number; targets: string[] }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL(`./${file}`, import.meta.url))], { stdio: ["ignore", "pipe", "inherit"] });
  const targets: string[] = [];
  let pending = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
    process.stdout.write(chunk);
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) if (line.startsWith("target ")) targets.push(line);
  });
  const code: number = await new Promise((resolve) => child.on("exit", (exitCode) => resolve(exitCode ?? 1)));
  if (pending.startsWith("target ")) targets.push(pending);
  return { code, targets };
}

const all: string[] = [];
let failed = 0;
for (const file of BENCHES) {
  console.log(`\n== ${file}`);
  const { code, targets } = await runBench(file);
  if (code !== 0) {
    failed++;
    all.push(`(${file} exited with ${code}; its targets are missing)`);
  }
  all.push(...targets);
}
console.log("\n== targets");
for (const line of all) console.log(line);
process.exit(failed > 0 ? 1 : 0);
