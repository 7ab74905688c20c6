import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnServer, type ServerProcess } from "./server-process.js";

export interface StartNatsServerOptions {
  /** Enable JetStream (KV, object store, streams). Default true: everything in Tessera needs it. */
  jetstream?: boolean;
  /** Port to listen on. Default: one the OS picks. */
  port?: number;
  /** JetStream store directory. Default: a fresh temp directory, removed by stop(). */
  storeDir?: string;
  /** More nats-server arguments, e.g. ["--auth", "token"] for a server that wants a token. */
  extraArgs?: readonly string[];
}

/** A nats-server this process started. */
export interface NatsServerHandle {
  /** e.g. "nats://127.0.0.1:41234" */
  url: string;
  port: number;
  storeDir: string;
  /**
   * Stops the server: SIGTERM (clean shutdown) by default, SIGKILL to
   * simulate a crash. `keepStore` leaves the store directory for a later
   * start (restart() always keeps it).
   */
  stop(options?: { signal?: NodeJS.Signals; keepStore?: boolean }): Promise<void>;
  /** Stops it and starts it again on the same port with the same store: "NATS restarted". */
  restart(options?: { signal?: NodeJS.Signals }): Promise<void>;
}

/**
 * Starts a private `nats-server` on 127.0.0.1 (for fault tests: a restart
 * of the shared server would disturb every other test). Needs the
 * nats-server binary (`apt-get install -y nats-server`).
 */
export async function startNatsServer(options: StartNatsServerOptions = {}): Promise<NatsServerHandle> {
  const ownsStore = options.storeDir === undefined;
  const storeDir = options.storeDir ?? (await mkdtemp(join(tmpdir(), "tessera-nats-")));
  const jetstream = options.jetstream ?? true;

  const launch = (port: number) =>
    spawnServer(
      "nats-server",
      ["-a", "127.0.0.1", "-p", String(port), ...(jetstream ? ["-js", "-sd", storeDir] : []), ...(options.extraArgs ?? [])],
      /Listening for client connections on [^\s]+:(\d+)[\s\S]*Server is ready/,
    );

  let server: ServerProcess;
  try {
    // -1 lets nats-server pick a free port itself, with no race to find one.
    server = await launch(options.port ?? -1);
  } catch (err) {
    if (ownsStore) await rm(storeDir, { recursive: true, force: true });
    throw err;
  }
  const port = Number(server.ready[1]);

  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    async stop(stopOptions = {}) {
      await server.stop(stopOptions.signal);
      if (ownsStore && !stopOptions.keepStore) await rm(storeDir, { recursive: true, force: true });
    },
    async restart(restartOptions = {}) {
      await server.stop(restartOptions.signal);
      server = await launch(port);
    },
  };
}
