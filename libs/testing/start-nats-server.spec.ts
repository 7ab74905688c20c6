import { describe, expect, it } from "vitest";
import { connectNats } from "../nats/index.js";
import { openNatsKv } from "../store/index.js";
import { startNatsServer } from "./start-nats-server.js";

describe("startNatsServer()", () => {
  it("restarts on the same port with the same store: data survives and clients reconnect", async () => {
    const server = await startNatsServer({ jetstream: true });
    const nc = await connectNats({ servers: server.url, name: "restart-test", reconnectWaitMs: 100 });
    try {
      const kv = await openNatsKv(nc, { bucket: "restart" });
      await kv.put("models.iris", new TextEncoder().encode("kept"));

      const reconnected = (async () => {
        for await (const s of nc.status()) if (s.type === "reconnect") return;
      })();
      await server.restart();
      await reconnected;

      const entry = await kv.get("models.iris");
      expect(new TextDecoder().decode(entry?.value)).toBe("kept");
      expect(server.url).toBe(`nats://127.0.0.1:${server.port}`);
    } finally {
      await nc.close();
      await server.stop();
    }
  });

  it("fails with the server's output when it cannot start", async () => {
    const first = await startNatsServer({ jetstream: false });
    try {
      await expect(startNatsServer({ jetstream: false, port: first.port })).rejects.toThrow(/exited|address already in use/i);
    } finally {
      await first.stop();
    }
  });
});
