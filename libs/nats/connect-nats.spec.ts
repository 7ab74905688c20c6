import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../errors/index.js";
import { testNatsUrl } from "../testing/index.js";
import { connectNats } from "./connect-nats.js";

/** A loopback port nothing listens on. */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe("connectNats()", () => {
  it("answers UNAVAILABLE, saying how to start NATS, when nothing listens", async () => {
    const url = `nats://127.0.0.1:${await closedPort()}`;
    const err = await connectNats({ servers: url, name: "t" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectError);
    expect((err as ConnectError).code).toBe(Code.Unavailable);
    expect((err as ConnectError).message).toContain(`cannot reach NATS at ${url}`);
    expect((err as ConnectError).message).toContain("nats-server -js");
  });

  it("connects to a running server", async () => {
    const nc = await connectNats({ servers: testNatsUrl(), name: "t" });
    expect(nc.isClosed()).toBe(false);
    await nc.close();
  });
});
