import { createServer } from "node:net";
import { spawnServer, type ServerProcess } from "./server-process.js";

/** A redis-server this process started. */
export interface RedisServerHandle {
  /** e.g. "redis://127.0.0.1:41235" */
  url: string;
  port: number;
  stop(options?: { signal?: NodeJS.Signals }): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      srv.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/**
 * Starts a private, memory-only `redis-server` on 127.0.0.1 (no RDB, no
 * AOF: test data is thrown away). Needs the redis-server binary
 * (`apt-get install -y redis-server`).
 */
export async function startRedisServer(): Promise<RedisServerHandle> {
  // Redis cannot pick its own port (0 disables TCP), so find one and retry if another process takes it first.
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    let server: ServerProcess;
    try {
      server = await spawnServer(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        /Ready to accept connections/,
      );
    } catch (err) {
      if (attempt < 3 && err instanceof Error && /Address already in use/i.test(err.message)) continue;
      throw err;
    }
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      stop: (options = {}) => server.stop(options.signal),
    };
  }
}
