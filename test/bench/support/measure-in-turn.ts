import type { ClosedLoopResult } from "./closed-loop.js";
import { formatRow } from "./format.js";
import { withCpuPerCall } from "./process-cpu.js";
import type { PredictRequestInit } from "./predict-request.js";
import { spawnLoad } from "./spawn-load.js";

/** A server under load: what the rows call it, where the load goes, whose CPU is counted. */
export interface LoadedServer {
  name: string;
  address: string;
  pid: number;
}

export interface InTurnJob {
  request: PredictRequestInit;
  concurrency: number;
  durationMs: number;
  warmupMs: number;
  rounds: number;
}

/** Sums over the rounds of one server's points: calls/s and CPU µs per call. */
export interface InTurnSums {
  calls: number;
  cpu: number;
}

export const IN_TURN_WIDTHS = [12, 5, 10, 9, 9, 7, 8];
export const IN_TURN_HEADER = ["conc", "calls/s", "p50 ms", "p99 ms", "errors", "cpu µs"];

/**
 * Loads each server in turn, round after round, printing one row per point
 * and returning each server's sums: alternating spreads the machine's
 * drift (another tenant, a GC-heavy minute) over every server instead of
 * charging it to whichever ran during it.
 */
export async function measureInTurn(servers: readonly LoadedServer[], job: InTurnJob): Promise<InTurnSums[]> {
  const sums = servers.map(() => ({ calls: 0, cpu: 0 }));
  for (let round = 0; round < job.rounds; round++) {
    for (const [i, server] of servers.entries()) {
      const load = { request: job.request, concurrency: job.concurrency, durationMs: job.durationMs, warmupMs: job.warmupMs, address: server.address };
      const r = await withCpuPerCall(server.pid, () => spawnLoad(load));
      printRow(server.name, job.concurrency, r);
      sums[i]!.calls += r.callsPerSecond;
      sums[i]!.cpu += r.cpuUsPerCall;
    }
  }
  return sums;
}

/**
 * One unmeasured load per server, at c=64 for a full point: V8 optimizes a
 * function only after enough calls, and a c=1 point's own warm-up makes
 * too few of them for the replica's longer path (docs/performance.md,
 * "Measured warm, in turn, on an idle box").
 */
export async function warmUp(servers: readonly LoadedServer[], job: Omit<InTurnJob, "rounds" | "concurrency">): Promise<void> {
  for (const server of servers) {
    await spawnLoad({ request: job.request, concurrency: 64, durationMs: job.durationMs, warmupMs: job.warmupMs, address: server.address });
  }
}

function printRow(name: string, concurrency: number, r: ClosedLoopResult & { cpuUsPerCall: number }): void {
  const cells = [name, String(concurrency), r.callsPerSecond, r.p50Ms, r.p99Ms, String(r.errors), r.cpuUsPerCall];
  console.log(formatRow(cells, IN_TURN_WIDTHS) + (r.firstError ? `  first error: ${r.firstError}` : ""));
}
