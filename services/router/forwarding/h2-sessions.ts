import http2 from "node:http2";

/**
 * One HTTP/2 session per replica address for callH2, opened on first use,
 * opened again once it closes or the replica says GOAWAY, and closed when
 * the replica leaves membership. No reconnect backoff of its own: a replica
 * that refuses connections fails its calls fast (UNAVAILABLE), and outlier
 * ejection takes it out of rotation.
 */
export class H2Sessions {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  get(address: string): http2.ClientHttp2Session {
    const open = this.sessions.get(address);
    if (open && !open.closed && !open.destroyed) return open;
    const session = http2.connect(`http://${address}`, { settings: { enablePush: false } });
    const forget = () => {
      if (this.sessions.get(address) === session) this.sessions.delete(address);
    };
    // Each call sees its own stream's error; the session's only ends it.
    session.on("error", forget);
    session.once("goaway", forget);
    session.once("close", forget);
    this.sessions.set(address, session);
    return session;
  }

  /** Closes the sessions of addresses not in `live`. */
  retain(live: ReadonlySet<string>): void {
    for (const [address, session] of this.sessions) {
      if (!live.has(address)) {
        session.close();
        this.sessions.delete(address);
      }
    }
  }

  closeAll(): void {
    this.sessions.forEach((session) => session.close());
    this.sessions.clear();
  }
}
