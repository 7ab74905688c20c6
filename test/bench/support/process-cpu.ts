import { readdir, readFile } from "node:fs/promises";

// Linux reports utime/stime in clock ticks; USER_HZ is 100 on every kernel Node ships for.
const TICKS_PER_SECOND = 100;

/** CPU time a process has used so far (user + system, all its threads), in seconds (Linux /proc). */
export async function readCpuSeconds(pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8");
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error(`cannot read CPU times from /proc/${pid}/stat`);
  return (utime + stime) / TICKS_PER_SECOND;
}

/** CPU seconds of a process and every process below it (node:cluster workers), read from /proc. */
export async function readTreeCpuSeconds(pid: number): Promise<number> {
  let total = await readCpuSeconds(pid);
  for (const child of await childPids(pid)) total += await readTreeCpuSeconds(child).catch(() => 0);
  return total;
}

async function childPids(pid: number): Promise<number[]> {
  const tasks = await readdir(`/proc/${pid}/task`).catch(() => [] as string[]);
  const pids: number[] = [];
  for (const task of tasks) {
    const text = await readFile(`/proc/${pid}/task/${task}/children`, "utf8").catch(() => "");
    for (const word of text.split(" ")) if (word.trim() !== "") pids.push(Number(word));
  }
  return pids;
}

/**
 * Runs `load` and returns its result with the process's CPU time (its
 * workers' included) per
 * answered call, in µs: CPU used over the whole load ÷ calls it answered
 * (warm-up included, since the CPU is counted over it too).
 */
export async function withCpuPerCall<T extends { totalCalls: number }>(pid: number, load: () => Promise<T>): Promise<T & { cpuUsPerCall: number }> {
  const before = await readTreeCpuSeconds(pid);
  const result = await load();
  const after = await readTreeCpuSeconds(pid);
  return { ...result, cpuUsPerCall: ((after - before) * 1e6) / Math.max(1, result.totalCalls) };
}

/** This thread's CPU time (user + system) per call of `work`, run `count` times, in µs. */
export function cpuUsPer(count: number, work: () => void): number {
  const start = process.cpuUsage();
  for (let i = 0; i < count; i++) work();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / count;
}
