import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { freePort } from "./free-port.js";
import { spawnServer, type ServerProcess } from "./server-process.js";

/** A local Redis Cluster this process started. */
export interface RedisClusterHandle {
  /** Seed nodes, "127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3". */
  nodes: string;
  ports: number[];
  stop(): Promise<void>;
}

const SLOTS = 16384;

/**
 * Starts a memory-only Redis Cluster of `masters` masters (default 3, no
 * replicas) from the installed redis-server, on free loopback ports, and
 * waits until every node says cluster_state:ok. The slots are split
 * evenly. Cluster state files go to a temporary directory removed by stop().
 */
export async function startRedisCluster(options: { masters?: number } = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const dir = await mkdtemp(join(tmpdir(), "tessera-redis-cluster-"));
  const servers: ServerProcess[] = [];
  const ports: number[] = [];
  const busPorts: number[] = [];
  const clients: Redis[] = [];
  const stop = async () => {
    clients.forEach((client) => client.disconnect());
    await Promise.all(servers.map((server) => server.stop()));
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i++) {
      // The cluster bus needs a port of its own; cluster-port picks it, since port+10000 may be past 65535.
      const [port, busPort] = [await freePort(), await freePort()];
      servers.push(
        await spawnServer(
          "redis-server",
          [
            "--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--cluster-enabled", "yes", "--cluster-port", String(busPort),
            "--cluster-config-file", join(dir, `nodes-${port}.conf`), "--cluster-node-timeout", "2000",
          ],
          /Ready to accept connections/,
        ),
      );
      ports.push(port);
      busPorts.push(busPort);
      clients.push(new Redis({ port, host: "127.0.0.1", lazyConnect: true }));
    }
    await Promise.all(clients.map((client) => client.connect()));
    const per = Math.ceil(SLOTS / masters);
    for (let i = 0; i < masters; i++) {
      const first = i * per;
      const last = Math.min(SLOTS, first + per) - 1;
      await clients[i]!.call("CLUSTER", "ADDSLOTSRANGE", String(first), String(last));
    }
    for (let i = 1; i < masters; i++) await clients[0]!.call("CLUSTER", "MEET", "127.0.0.1", String(ports[i]), String(busPorts[i]));
    // Gossip takes a moment; wait, bounded, for every node to see the whole cluster.
    const deadline = Date.now() + 30_000;
    for (;;) {
      const infos = await Promise.all(clients.map((client) => client.call("CLUSTER", "INFO") as Promise<string>));
      if (infos.every((info) => info.includes("cluster_state:ok") && info.includes(`cluster_known_nodes:${masters}`))) break;
      if (Date.now() > deadline) throw new Error(`Redis Cluster on ports ${ports.join(", ")} did not reach cluster_state:ok within 30 s:\n${infos.join("\n")}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    clients.forEach((client) => client.disconnect());
    clients.length = 0;
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes: ports.map((port) => `127.0.0.1:${port}`).join(","), ports, stop };
}
