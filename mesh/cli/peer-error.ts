import { ConnectError } from "../../libs/errors/index.js";

/** A service the CLI calls, as the person named it. */
export interface Peer {
  readonly service: "registry" | "inference replica" | "monitoring service" | "feature service" | "router";
  /** host:port dialled. */
  readonly address: string;
  /** The option that sets the address, for advice. */
  readonly option: "--registry" | "--inference" | "--monitoring" | "--feature";
}

/** A call to a peer that failed: the peer, for the message, and the status it answered. */
export class PeerError extends Error {
  override name = "PeerError";
  constructor(
    readonly peer: Peer,
    readonly status: ConnectError,
  ) {
    super(status.rawMessage, { cause: status });
  }
}

/** Runs one call to `peer`, tagging a failure with who failed, so the message can say it. */
export async function callPeer<T>(peer: Peer, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw error instanceof PeerError ? error : new PeerError(peer, ConnectError.from(error));
  }
}
