import { freePort } from "./free-port.js";
import { spawnServer, type ServerProcess } from "./server-process.js";

/** A redis-server this process started. */
export interface RedisServerHandle {
  /** e.g. "redis://127.0.0.1:41235" */
  url: string;
  port: number;
  stop(options?: { signal?: NodeJS.Signals }): Promise<void>;
}

/**
 * Starts a private, memory-only `redis-server` on 127.0.0.1 (no RDB, no
 * AOF: test data is thrown away). Needs the redis-server binary
 * (`apt-get install -y redis-server`). With `port`, it starts there: a
 * test stops a server and starts it again on the same port to check that
 * clients recover.
 */
export async function startRedisServer(options: { port?: number } = {}): Promise<RedisServerHandle> {
  // Redis cannot pick its own port (0 disables TCP), so find one and retry if another process takes it first.
  for (let attempt = 1; ; attempt++) {
    // A given port (to bring a stopped server back where its clients look) is not retried.
    const port = options.port ?? (await freePort());
    let server: ServerProcess;
    try {
      server = await spawnServer(
        "redis-server",
        ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        /Ready to accept connections/,
      );
    } catch (err) {
      if (options.port === undefined && attempt < 3 && err instanceof Error && /Address already in use/i.test(err.message)) continue;
      throw err;
    }
    return {
      url: `redis://127.0.0.1:${port}`,
      port,
      stop: (options = {}) => server.stop(options.signal),
    };
  }
}
