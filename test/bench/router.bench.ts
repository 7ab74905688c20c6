import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { startBenchMesh, type BenchReplica } from "./support/bench-mesh.js";
import { readBenchOptions } from "./support/bench-options.js";
import type { ClosedLoopResult } from "./support/closed-loop.js";
import { formatRow } from "./support/format.js";
import { freePort } from "./support/free-port.js";
import { oneRowRequest } from "./support/predict-request.js";
import { spawnLoad } from "./support/spawn-load.js";
import { spawnService } from "./support/spawn-service.js";
import { targetLine, targetLineAtMost } from "./support/target-line.js";

const ROUTER_MAIN = fileURLToPath(new URL("../../services/router/main.js", import.meta.url));
const BARE_PROXY = fileURLToPath(new URL("./support/bare-proxy.js", import.meta.url));

interface Proc {
  address: string;
  httpUrl?: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

async function startRouterProcess(natsUrl: string, registryAddress: string, replicasBucket: string, env: Record<string, string> = {}): Promise<Proc> {
  const grpcPort = await freePort();
  const httpPort = await freePort();
  const { child, stop } = await spawnService(
    [ROUTER_MAIN],
    {
      NATS_URL: natsUrl,
      TESSERA_REGISTRY_ADDRESS: registryAddress,
      TESSERA_ROUTER_GRPC_PORT: String(grpcPort),
      TESSERA_ROUTER_HTTP_PORT: String(httpPort),
      TESSERA_REPLICAS_BUCKET: replicasBucket,
      TESSERA_ROUTER_AUTH: "off",
      TESSERA_LOG_LEVEL: "info",
      ...env,
    },
    (line) => line.includes('"listening"'),
  );
  return { address: `127.0.0.1:${grpcPort}`, httpUrl: `http://127.0.0.1:${httpPort}`, child, stop };
}

/** The router process's CPU time so far, seconds (its /metrics). */
async function cpuSeconds(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const match = /^process_cpu_seconds_total (\S+)$/m.exec(text);
  return match ? Number(match[1]) : NaN;
}

async function routerReplicas(httpUrl: string): Promise<string[]> {
  const status = (await (await fetch(`${httpUrl}/router/status`)).json()) as { replicas: Array<{ grpc: string }> };
  return status.replicas.map((r) => r.grpc);
}

async function waitFor(check: () => Promise<boolean>, limitMs: number): Promise<number> {
  const started = Date.now();
  while (Date.now() - started < limitMs) {
    if (await check()) return Date.now() - started;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`condition not met in ${limitMs} ms`);
}

/**
 * Issue "router": the same one-row Predict load directly to one replica,
 * through a bare grpc-js pass-through proxy (the ceiling for a hop) and
 * through the router, each in its own process; then one of two replicas
 * is SIGKILLed under load through the router.
 */
async function main(): Promise<void> {
  const options = readBenchOptions();
  const mesh = await startBenchMesh();
  const targets: string[] = [];
  const procs: Proc[] = [];
  try {
    await mesh.pushModel("fraud", "fraud.onnx", { enabled: false });
    const threads = { TESSERA_INTRA_OP_THREADS: String(options.intraOpThreads) };
    const first: BenchReplica = await mesh.startReplica(["fraud"], threads);
    const router = await startRouterProcess(mesh.natsUrl, mesh.registryAddress, mesh.replicasBucket);
    procs.push(router);
    // The same router calling replicas through grpc-js channels instead of node:http2 sessions (TESSERA_ROUTER_UPSTREAM).
    const routerGrpcJs = await startRouterProcess(mesh.natsUrl, mesh.registryAddress, mesh.replicasBucket, { TESSERA_ROUTER_UPSTREAM: "grpc-js" });
    procs.push(routerGrpcJs);
    await waitFor(async () => (await routerReplicas(router.httpUrl!)).includes(first.grpcAddress), 30_000);
    await waitFor(async () => (await routerReplicas(routerGrpcJs.httpUrl!)).includes(first.grpcAddress), 30_000);
    const proxyPort = await freePort();
    const proxyProcess = await spawnService([BARE_PROXY, String(proxyPort), first.grpcAddress], {}, (line) => line === "ready");
    const proxy: Proc = { address: `127.0.0.1:${proxyPort}`, ...proxyProcess };
    procs.push(proxy);

    const request = oneRowRequest("fraud", "fraud");
    console.log(`router bench: one-row Predict of fraud (batching off), ${options.warmupMs} ms warm-up + ${options.durationMs} ms per point; load, router, proxy and replica each a process`);
    const widths = [12, 5, 10, 9, 9, 7];
    console.log(formatRow(["path", "conc", "calls/s", "p50 ms", "p99 ms", "errors"], widths));
    const row = (name: string, c: number, r: ClosedLoopResult) =>
      console.log(formatRow([name, String(c), r.callsPerSecond, r.p50Ms, r.p99Ms, String(r.errors)], widths) + (r.firstError ? `  first error: ${r.firstError}` : ""));
    const results = new Map<string, ClosedLoopResult>();
    // CPU µs the router process spent per forwarded call (warm-up included, as totalCalls is).
    const cpuPerCall = new Map<string, number>();
    for (const concurrency of [1, 64]) {
      const job = { request, concurrency, durationMs: options.durationMs, warmupMs: options.warmupMs };
      const paths = [
        ["direct", first.grpcAddress, undefined],
        ["bare-proxy", proxy.address, undefined],
        ["router", router.address, router.httpUrl],
        ["router-grpcjs", routerGrpcJs.address, routerGrpcJs.httpUrl],
      ] as const;
      for (const [name, address, httpUrl] of paths) {
        const cpuBefore = httpUrl ? await cpuSeconds(httpUrl) : NaN;
        const result = await spawnLoad({ ...job, address });
        if (httpUrl) cpuPerCall.set(`${name}@${concurrency}`, ((await cpuSeconds(httpUrl)) - cpuBefore) * 1e6 / result.totalCalls);
        results.set(`${name}@${concurrency}`, result);
        row(name, concurrency, result);
      }
    }
    const at = (name: string, c: number) => results.get(`${name}@${c}`)!;
    const vsDirect = at("router", 64).callsPerSecond / at("direct", 64).callsPerSecond;
    const vsProxy = at("router", 64).callsPerSecond / at("bare-proxy", 64).callsPerSecond;
    const addedP50 = at("router", 1).p50Ms - at("direct", 1).p50Ms;
    const addedP99 = at("router", 1).p99Ms - at("direct", 1).p99Ms;
    const proxyAddedP50 = at("bare-proxy", 1).p50Ms - at("direct", 1).p50Ms;
    console.log(`  router / direct at c=64: ${vsDirect.toFixed(2)}; router / bare proxy at c=64: ${vsProxy.toFixed(2)}`);
    console.log(`  added at c=1: router p50 ${addedP50.toFixed(3)} ms, p99 ${addedP99.toFixed(3)} ms; bare proxy p50 ${proxyAddedP50.toFixed(3)} ms`);
    const grpcJsVsDirect = at("router-grpcjs", 64).callsPerSecond / at("direct", 64).callsPerSecond;
    const grpcJsAddedP50 = at("router-grpcjs", 1).p50Ms - at("direct", 1).p50Ms;
    console.log(`  router on grpc-js channels (TESSERA_ROUTER_UPSTREAM=grpc-js): / direct at c=64 ${grpcJsVsDirect.toFixed(2)}; added p50 at c=1 ${grpcJsAddedP50.toFixed(3)} ms`);
    const cpu = (name: string, c: number) => (cpuPerCall.get(`${name}@${c}`) ?? NaN).toFixed(0);
    console.log(`  router CPU per call, µs: node:http2 hop ${cpu("router", 1)} at c=1, ${cpu("router", 64)} at c=64; grpc-js hop ${cpu("router-grpcjs", 1)} at c=1, ${cpu("router-grpcjs", 64)} at c=64`);
    await routerGrpcJs.stop();
    await proxy.stop();

    // Kill one of two replicas midway through a load via the router.
    const second = await mesh.startReplica(["fraud"], threads);
    await waitFor(async () => (await routerReplicas(router.httpUrl!)).includes(second.grpcAddress), 30_000);
    const killJob = { request, concurrency: 16, durationMs: Math.max(6_000, options.durationMs * 2), warmupMs: 500 };
    const load = spawnLoad({ ...killJob, address: router.address });
    await new Promise((resolve) => setTimeout(resolve, killJob.warmupMs + killJob.durationMs / 3));
    process.kill(first.pid, "SIGKILL");
    const killedAt = Date.now();
    const ejectedAfterMs = await waitFor(async () => (await (await fetch(`${router.httpUrl}/metrics`)).text()).includes("tessera_router_ejections_total{"), 30_000).catch(() => NaN);
    const killed = await load;
    const goneAfterMs = await waitFor(async () => !(await routerReplicas(router.httpUrl!)).includes(first.grpcAddress), 30_000).then(() => Date.now() - killedAt);
    row("kill-1-of-2", killJob.concurrency, killed);
    console.log(`  after SIGKILL: ejected after ${Number.isNaN(ejectedAfterMs) ? "(not ejected)" : `${ejectedAfterMs} ms`}; out of membership after ${goneAfterMs} ms (heartbeat TTL)`);
    targets.push(targetLine("router-vs-direct-c64", vsDirect, 0.8));
    targets.push(targetLineAtMost("router-added-p50-c1", addedP50, 0.5, { unit: " ms", digits: 3 }));
    targets.push(targetLine("router-vs-bare-proxy-c64", vsProxy, 0.8));
    targets.push(targetLineAtMost("router-kill-one-of-two-client-errors", killed.errors, 0, { digits: 0 }));
  } finally {
    await Promise.allSettled(procs.map((p) => p.stop()));
    await mesh.stop();
  }
  for (const line of targets) console.log(line);
  process.exit(0);
}

main().catch((error: unknown) => {
  console.error(`router bench failed: ${String((error as Error)?.stack ?? error)}`);
  process.exit(1);
});
