import { connect, type NatsConnection } from "@nats-io/transport-node";
import { unavailable } from "../errors/index.js";
import { silentLogger, type Logger } from "../log/index.js";

export interface ConnectNatsOptions {
  /** One URL or several (a cluster), e.g. "nats://127.0.0.1:4222". */
  servers: string | string[];
  /** Shown in the server's connection list (`nats server report connections`), e.g. "tessera-registry". */
  name: string;
  /** Where connection state changes are logged. Default: drops them. */
  logger?: Logger;
  /**
   * Milliseconds between reconnect attempts. Default 1000: quick enough that a
   * restarted server is found within a second or two, slow enough not to
   * flood the log while it is down.
   */
  reconnectWaitMs?: number;
  /** Milliseconds to wait for the first connection. Default 5000 (a loopback connect takes milliseconds). */
  connectTimeoutMs?: number;
}

/**
 * Connects to NATS. The first connection must succeed (else UNAVAILABLE with
 * how to fix it); after that the client reconnects forever, because a
 * service outliving a NATS restart is the normal case, not an error.
 */
export async function connectNats(options: ConnectNatsOptions): Promise<NatsConnection> {
  const logger = options.logger ?? silentLogger;
  const servers = Array.isArray(options.servers) ? options.servers : [options.servers];
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectWaitMs ?? 1000,
      timeout: options.connectTimeoutMs ?? 5000,
    });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw unavailable(
      `cannot reach NATS at ${servers.join(", ")} (${reason}): start it with \`nats-server -js\` or set NATS_URL`,
      err,
    );
  }
  logger.info("connected to NATS", { server: nc.getServer() });
  void followStatus(nc, logger);
  return nc;
}

async function followStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  for await (const s of nc.status()) {
    switch (s.type) {
      case "disconnect":
        logger.warn("disconnected from NATS; reconnecting", { server: s.server });
        break;
      case "reconnect":
        logger.info("reconnected to NATS", { server: s.server });
        break;
      case "error":
        logger.warn("NATS connection error", { error: s.error });
        break;
      case "slowConsumer":
        logger.warn("NATS slow consumer: a subscription is falling behind", { subject: s.sub.getSubject() });
        break;
      default:
        break;
    }
  }
}
