import http2 from "node:http2";
import type { Logger } from "../../../libs/log/index.js";
import { LoopPool, type LoopPoolOptions, type PoolTransport } from "./loop-pool.js";

// Sessions that errored or were told GOAWAY: the pool opens another in their place.
const gone = new WeakSet<http2.ClientHttp2Session>();

const sessions: PoolTransport<http2.ClientHttp2Session> = {
  open(address) {
    const session = http2.connect(`http://${address}`, { settings: { enablePush: false } });
    const forget = () => gone.add(session);
    // Each call sees its own stream's error; the session's only ends it.
    session.on("error", forget);
    session.once("goaway", forget);
    session.once("close", forget);
    return session;
  },
  isOpen: (session) => !gone.has(session) && !session.closed && !session.destroyed,
  close: (session) => session.close(),
};

/**
 * The node:http2 sessions callH2 runs on: one per front-end loop of each
 * replica (LoopPool), opened on first use, opened again once one closes or
 * the replica says GOAWAY, and closed when the replica leaves membership.
 * No reconnect backoff of its own: a replica that refuses connections
 * fails its calls fast (UNAVAILABLE), and outlier ejection takes it out of
 * rotation.
 */
export class H2Sessions extends LoopPool<http2.ClientHttp2Session> {
  constructor(logger: Logger, options?: LoopPoolOptions) {
    super(sessions, logger, options);
  }
}
