import { readFile } from "node:fs/promises";

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

/**
 * Runs `load` and returns its result with the process's CPU time per
 * answered call, in µs: CPU used over the whole load ÷ calls it answered
 * (warm-up included, since the CPU is counted over it too).
 */
export async function withCpuPerCall<T extends { totalCalls: number }>(pid: number, load: () => Promise<T>): Promise<T & { cpuUsPerCall: number }> {
  const before = await readCpuSeconds(pid);
  const result = await load();
  const after = await readCpuSeconds(pid);
  return { ...result, cpuUsPerCall: ((after - before) * 1e6) / Math.max(1, result.totalCalls) };
}
