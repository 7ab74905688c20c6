import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { Code, ConnectError } from "../errors/index.js";
import { startNatsServer, testNatsUrl } from "../testing/index.js";
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

describe("connectNats() with credentials", () => {
  it("connects to a server that wants a token only when given it, and never prints the token", async () => {
    const server = await startNatsServer({ jetstream: false, extraArgs: ["--auth", "s3cret-token"] });
    try {
      const failure = async (servers: string): Promise<ConnectError | undefined> => {
        try {
          await (await connectNats({ servers, name: "t", connectTimeoutMs: 2000 })).close();
          return undefined;
        } catch (error) {
          return error as ConnectError;
        }
      };
      const refused = await failure(server.url);
      expect(refused).toBeInstanceOf(ConnectError);
      const nc = await connectNats({ servers: server.url, name: "t", auth: { token: "s3cret-token" } });
      expect(nc.isClosed()).toBe(false);
      await nc.close();
      // A token in the URL works too, and the error for a wrong one does not show it.
      const wrong = await failure(`nats://wrong-token@127.0.0.1:${server.port}`);
      expect(wrong).toBeInstanceOf(ConnectError);
      expect(wrong?.message).not.toContain("wrong-token");
      expect(wrong?.message).toContain("nats://***@127.0.0.1");
    } finally {
      await server.stop();
    }
  });
});
