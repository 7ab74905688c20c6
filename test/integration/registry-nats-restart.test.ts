import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code, ConnectError } from "@connectrpc/connect";
import { uploadModelVersion } from "../../libs/registry-client/index.js";
import { startNatsServer, type NatsServerHandle } from "../../libs/testing/index.js";
import { exampleModel } from "../../mesh/models/index.js";
import { startTestRegistry, type TestRegistry } from "../support/registry-harness.js";

const fraud = exampleModel("fraud").build();

// A private nats-server, so stopping it does not disturb other test files.
describe("registry while NATS restarts", () => {
  let nats: NatsServerHandle;
  let registry: TestRegistry;

  beforeAll(async () => {
    nats = await startNatsServer({ jetstream: true });
    registry = await startTestRegistry({ mode: "nats", natsUrl: nats.url });
  });

  afterAll(async () => {
    await registry.stop();
    await nats.stop();
  });

  it("fails a write during the outage cleanly, then works again after reconnecting", async () => {
    await uploadModelVersion(registry.client, { model: "before", createModel: true, aliases: ["production"] }, fraud);

    await nats.stop({ keepStore: true });
    const during = await registry.client
      .setAlias({ model: "before", alias: "staging", version: 1 }, { timeoutMs: 15_000 })
      .then(() => undefined, (error: unknown) => ConnectError.from(error));
    expect(during).toBeInstanceOf(ConnectError);
    expect([Code.Unavailable, Code.DeadlineExceeded]).toContain(during?.code);

    await nats.restart();
    // The client reconnects on its own; the first writes may still race it.
    await expect
      .poll(
        async () =>
          registry.client.setAlias({ model: "before", alias: "staging", version: 1 }).then(
            () => "ok",
            (error: unknown) => ConnectError.from(error).code,
          ),
        { timeout: 20_000, interval: 500 },
      )
      .toBe("ok");

    // Nothing was half-applied: the model has exactly the aliases we set, and version 1 only.
    const { model } = await registry.client.getModel({ name: "before" });
    expect(model?.aliases).toEqual({ production: 1, staging: 1 });
    expect(model?.latestVersion).toBe(1);
  });
});
