import { readFileSync } from "node:fs";
import { connect, credsAuthenticator, nkeyAuthenticator, type ConnectionOptions, type NatsConnection } from "@nats-io/transport-node";
import { failedPrecondition, unavailable } from "../errors/index.js";
import { silentLogger, type Logger } from "../log/index.js";
import { redactUrl, type NatsOptions } from "./nats-options.js";

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
  /** Credentials and TLS (readNatsOptions). Never logged. */
  auth?: Pick<NatsOptions, "credsFile" | "token" | "nkeySeedFile" | "tls">;
}

/**
 * Connects to NATS. The first connection must succeed (else UNAVAILABLE with
 * how to fix it); after that the client reconnects forever, because a
 * service outliving a NATS restart is the normal case, not an error.
 */
export async function connectNats(options: ConnectNatsOptions): Promise<NatsConnection> {
  const logger = options.logger ?? silentLogger;
  const servers = Array.isArray(options.servers) ? options.servers : [options.servers];
  const printable = servers.map(redactUrl).join(", ");
  const auth = authOptions(options.auth ?? {});
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: options.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: options.reconnectWaitMs ?? 1000,
      timeout: options.connectTimeoutMs ?? 5000,
      ...auth,
    });
  } catch (err) {
    // nats.js error texts never carry the password; the URLs we add are redacted.
    const reason = err instanceof Error ? err.message : String(err);
    throw unavailable(
      `cannot reach NATS at ${printable} (${reason}): start it with \`nats-server -js\` or set NATS_URL`,
      err,
    );
  }
  logger.info("connected to NATS", { server: nc.getServer() });
  void followStatus(nc, logger);
  return nc;
}

/** nats.js options for the credentials and TLS asked for; files are read here so a missing one fails start-up with its name. */
function authOptions(auth: NonNullable<ConnectNatsOptions["auth"]>): Partial<ConnectionOptions> {
  const read = (path: string, what: string) => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw failedPrecondition(`cannot read the NATS ${what} file ${path} (${(err as Error).message})`, err);
    }
  };
  const options: Partial<ConnectionOptions> = {};
  if (auth.credsFile) options.authenticator = credsAuthenticator(read(auth.credsFile, "credentials"));
  else if (auth.nkeySeedFile) options.authenticator = nkeyAuthenticator(new TextEncoder().encode(read(auth.nkeySeedFile, "nkey seed").toString("utf8").trim()));
  else if (auth.token) options.token = auth.token;
  if (auth.tls) {
    options.tls = {
      ...(auth.tls.caFile ? { caFile: auth.tls.caFile } : {}),
      ...(auth.tls.certFile ? { certFile: auth.tls.certFile } : {}),
      ...(auth.tls.keyFile ? { keyFile: auth.tls.keyFile } : {}),
    };
  }
  return options;
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
