import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { findNats } from "./find-nats.js";

function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

describe("findNats()", () => {
  it("fails loudly, without printing the password, when an explicit NATS_URL does not answer", async () => {
    const url = `nats://demo:s3cret@127.0.0.1:${await closedPort()}`;
    const error = await findNats({ NATS_URL: url }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/^NATS_URL=nats:\/\/demo:\*\*\*@127\.0\.0\.1:\d+ is set but does not answer .*unset NATS_URL/);
    expect(error?.message).not.toContain("s3cret");
  });

  it("uses an explicit NATS_URL that answers", async () => {
    const found = await findNats({ NATS_URL: process.env.NATS_URL });
    expect(found).toMatchObject({ kind: "nats", url: process.env.NATS_URL, how: "NATS_URL" });
  });
});
